/**
 * `${env:NAME}` and `${file:PATH}` references in config documents, so
 * secrets can stay out of config files. `$${env:NAME}` is a literal
 * `${env:NAME}`. `${file:PATH}` is the content of a local file (certificates,
 * keys); a relative PATH is relative to the config file's directory.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import process from "node:process";
import type { Problem } from "./problem.ts";
import { at, isMapping, quote, report } from "./shape.ts";

const REFERENCE = /\$(\$?)\{(env|file):([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// berth documents are a few levels deep; deeper structure is left for the shape checks to reject.
const DEEPEST = 32;

/** The environment references are resolved from. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Where `${file:}` paths resolve, and where the paths of strings that held a reference are collected. */
export interface ReferenceContext {
  /** Directory relative `${file:}` paths resolve against; default the working directory. */
  baseDir?: string;
  /** Receives the path (as `at()` writes it) of every string that held a reference. */
  referenced?: Set<string>;
}

function readReferencedFile(file: string, whole: string, path: string, baseDir: string, problems: Problem[]): string {
  const full = isAbsolute(file) ? file : resolve(baseDir, file);
  try {
    return readFileSync(full, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT"
      ? "does not exist"
      : code === "EACCES"
      ? "is not readable"
      : `cannot be read (${code})`;
    report(problems, path, `${whole}: file "${full}" ${why}; fix the path or the file's permissions`);
    return whole;
  }
}

function resolveString(
  text: string,
  path: string,
  env: Environment,
  problems: Problem[],
  context: ReferenceContext,
): string {
  return text.replace(REFERENCE, (whole, escape: string, kind: string, name: string) => {
    if (escape === "$") return whole.slice(1);
    context.referenced?.add(path);
    if (kind === "file") {
      if (name === "") {
        report(problems, path, `${quote(whole)} names no file: use \${file:PATH}`);
        return whole;
      }
      return readReferencedFile(name, whole, path, context.baseDir ?? process.cwd(), problems);
    }
    if (!VARIABLE_NAME.test(name)) {
      report(
        problems,
        path,
        `${quote(whole)} is not a valid environment reference: use \${env:NAME} with a variable name`,
      );
      return whole;
    }
    const value = env[name];
    if (value === undefined) {
      report(problems, path, `environment variable ${name} is not set; set it, or write the value here`);
      return whole;
    }
    return value;
  });
}

/**
 * `value` with every `${env:NAME}` (`${file:PATH}`) in its strings (not in
 * keys) replaced by the variable's value (the file's content), in copies of
 * the mappings and lists that hold one; the parts without a reference are
 * `value`'s own, not copies. Unset variables and unreadable files are problems.
 *
 * @example
 * ```ts
 * import { resolveEnvReferences } from "./env-reference.ts";
 * const problems: { path: string; message: string }[] = [];
 * const out = resolveEnvReferences({ password: "${env:PW}" }, "", { PW: "s3cret" }, problems) as { password: string };
 * if (out.password !== "s3cret" || problems.length !== 0) throw new Error("wrong");
 * ```
 */
export function resolveEnvReferences(
  value: unknown,
  path: string,
  env: Environment,
  problems: Problem[],
  context: ReferenceContext = {},
): unknown {
  return resolveIn(value, () => path, env, problems, context, 0);
}

/**
 * {@link resolveEnvReferences} with the path made only when a reference needs it (100k containers: 1 s less),
 * and a part without references given back as it is, not copied (most of a config: a copy of it all was
 * a third of the memory a 100k-container validate allocated). Callers only read the result.
 */
function resolveIn(
  value: unknown,
  pathOf: () => string,
  env: Environment,
  problems: Problem[],
  context: ReferenceContext,
  depth: number,
): unknown {
  if (typeof value === "string") {
    return hasReference(value) ? resolveString(value, pathOf(), env, problems, context) : value;
  }
  if (depth >= DEEPEST) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === "string" && !hasReference(item)) continue;
      const resolved = resolveIn(item, () => at(pathOf(), i), env, problems, context, depth + 1);
      if (resolved !== item) (out ??= value.slice())[i] = resolved;
    }
    return out ?? value;
  }
  if (isMapping(value)) {
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item === "string" && !hasReference(item)) continue;
      const resolved = resolveIn(item, () => at(pathOf(), key), env, problems, context, depth + 1);
      if (resolved !== item) Object.defineProperty(out ??= { ...value }, key, { value: resolved, enumerable: true });
    }
    return out ?? value;
  }
  return value;
}

function hasReference(text: string): boolean {
  return text.includes("{env:") || text.includes("{file:");
}

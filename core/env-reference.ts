/**
 * `${env:NAME}` references in config documents, so secrets can stay out of
 * config files. `$${env:NAME}` is a literal `${env:NAME}`.
 *
 * @module
 */
import type { Problem } from "./problem.ts";
import { at, isMapping, quote, report } from "./shape.ts";

const REFERENCE = /\$(\$?)\{env:([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// berth documents are a few levels deep; deeper structure is left for the shape checks to reject.
const DEEPEST = 32;

/** The environment references are resolved from. */
export type Environment = Readonly<Record<string, string | undefined>>;

function resolveString(text: string, path: string, env: Environment, problems: Problem[]): string {
  return text.replace(REFERENCE, (whole, escape: string, name: string) => {
    if (escape === "$") return whole.slice(1);
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
 * A copy of `value` with every `${env:NAME}` in its strings (not in keys)
 * replaced by the variable's value; unset variables are problems.
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
  depth = 0,
): unknown {
  if (typeof value === "string") return value.includes("{env:") ? resolveString(value, path, env, problems) : value;
  if (depth >= DEEPEST) return value;
  if (Array.isArray(value)) {
    return value.map((item: unknown, i) => resolveEnvReferences(item, at(path, i), env, problems, depth + 1));
  }
  if (isMapping(value)) {
    return Object.fromEntries(
      Object.entries(value).map((
        [key, item],
      ) => [key, resolveEnvReferences(item, at(path, key), env, problems, depth + 1)]),
    );
  }
  return value;
}

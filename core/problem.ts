/**
 * Validation problems and the error that carries them.
 *
 * @module
 */
import { BerthError } from "./errors.ts";

/** One thing wrong in a document, where it is and how to fix it. */
export interface Problem {
  /** Where, such as `desiredState.etcd.container.config.image` or `ports[0].port`; `(document)` for the whole document. */
  path: string;
  /** What is wrong and how to fix it, in sentence case. */
  message: string;
}

/** The path shown for a problem with the document as a whole. */
export const DOCUMENT_PATH = "(document)";

/**
 * Every problem found in a document, thrown at once (code `VALIDATION`).
 * The message names the source and lists each problem as `path: message`,
 * one per line.
 *
 * @example
 * ```ts
 * import { ValidationError } from "./problem.ts";
 * const err = new ValidationError([{ path: "containers.etcd.image", message: "set an image" }], "config.yaml");
 * if (!err.message.includes("containers.etcd.image: set an image")) throw new Error(err.message);
 * ```
 */
export class ValidationError extends BerthError {
  /** The class's name, as stack traces show it. */
  override name = "ValidationError";
  /** Every problem found (at least one). */
  readonly problems: Problem[];
  /** The file or other origin of the document, when known. */
  readonly source: string | undefined;

  /**
   * An error listing `problems` in its message, under the name of `source`.
   *
   * @param problems At least one problem.
   * @param source The file or other origin of the document, for the message.
   * @param options `cause`: the underlying error, such as the YAML parser's.
   */
  constructor(problems: Problem[], source?: string, options: { cause?: unknown } = {}) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const what = source === undefined ? "Invalid containers" : `Invalid "${source}"`;
    const lines = problems.map((p) => `${p.path}: ${p.message}`);
    super("VALIDATION", [`${what} (${count}):`, ...lines].join("\n"), options);
    this.problems = problems;
    this.source = source;
  }
}

/**
 * Throws a {@link ValidationError} when there is any problem.
 *
 * @throws {ValidationError} When `problems` is not empty.
 */
export function throwIfProblems(problems: Problem[], source?: string): void {
  if (problems.length > 0) throw new ValidationError(problems, source);
}

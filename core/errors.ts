/**
 * The one error type berth throws. Callers match on `code`, never on the
 * message; the original failure is kept as `cause`.
 *
 * @module
 */

/** Stable error codes. */
export type ErrorCode =
  | "VALIDATION" // a config or state document is invalid
  | "NOT_FOUND" // engine: no such container, image or path
  | "CONFLICT" // engine: name in use, container running, ...
  | "BAD_PARAMETER" // engine rejected a parameter
  | "ENGINE" // engine answered with a server error or garbage
  | "ENGINE_TOO_OLD" // engine API version below what berth needs
  | "IMAGE_PULL" // pulling an image failed (also errors inside the pull stream)
  | "CONNECT" // cannot reach the host or engine
  | "TIMEOUT" // an operation ran out of time
  | "ABORTED" // cancelled through an AbortSignal
  | "AUTH" // SSH authentication failed
  | "HOST_KEY" // SSH host key unknown or changed
  | "STATE" // state file unreadable, corrupt, or locked
  | "PLAN_STALE" // a saved plan no longer matches hosts or state
  | "UNSAFE_PATH" // a path or archive entry would escape where it belongs
  | "PERMISSION" // the host refused a file operation to the user berth reaches it as
  | "GATE" // a started container failed its health gate (see engine/gate.ts)
  | "NOT_STARTED"; // a change not started: its rollout stopped after a failed batch, or a dependency failed

/** Where an error happened, for the message and for callers. */
export interface ErrorContext {
  /** Host address or name the operation targeted. */
  host?: string;
  /** Container name the operation was for. */
  container?: string;
}

/**
 * An error with a stable `code`, optional context and the original `cause`.
 *
 * @example
 * ```ts
 * import { BerthError } from "./errors.ts";
 * const err = new BerthError("NOT_FOUND", "No such container \"etcd\"");
 * if (err.code !== "NOT_FOUND") throw new Error("unexpected");
 * ```
 */
export class BerthError extends Error {
  /** The class's name, as stack traces show it. */
  override name = "BerthError";
  /** What kind of failure it is: callers match on this, never on the message. */
  readonly code: ErrorCode;
  /** Host address or name the operation targeted, when known. */
  readonly host: string | undefined;
  /** Container name the operation was for, when known. */
  readonly container: string | undefined;

  /** An error with `code` and `message`; `options` adds the host, the container and the original `cause`. */
  constructor(code: ErrorCode, message: string, options: ErrorContext & { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.host = options.host;
    this.container = options.container;
  }
}

/**
 * Prefixes an error's message with what was being done, keeping its code.
 * Non-berth errors become `fallback`-coded (default `ENGINE`) BerthErrors
 * with the original as cause. `host` and `container` given here win over
 * the error's own.
 *
 * @example
 * ```ts
 * import { BerthError, withContext } from "./errors.ts";
 * const e = withContext(new BerthError("CONFLICT", "name in use"), 'creating container "etcd" on host 10.0.0.2');
 * if (e.message !== 'creating container "etcd" on host 10.0.0.2: name in use') throw new Error(e.message);
 * ```
 */
export function withContext(
  err: unknown,
  doing: string,
  options: ErrorContext & { fallback?: ErrorCode } = {},
): BerthError {
  const { fallback = "ENGINE", ...context } = options;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof BerthError) {
    const host = context.host ?? err.host;
    const container = context.container ?? err.container;
    return new BerthError(err.code, `${doing}: ${message}`, {
      cause: err.cause ?? err,
      ...(host === undefined ? {} : { host }),
      ...(container === undefined ? {} : { container }),
    });
  }
  return new BerthError(fallback, `${doing}: ${message}`, { ...context, cause: err });
}

/**
 * Whether `err` comes from a host berth could not reach (a `CONNECT` error anywhere along its causes: no
 * connection, or the connection lost mid-request): trying something else on that host now would only wait out
 * another connection attempt.
 *
 * @example
 * ```ts
 * import { BerthError, outOfReach } from "./errors.ts";
 * const lost = new BerthError("CONNECT", "SSH connection to root@10.0.0.2:22 lost: Keepalive timeout");
 * if (!outOfReach(new BerthError("ENGINE", "creating container: no response", { cause: lost }))) throw new Error();
 * ```
 */
export function outOfReach(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof BerthError && e.code === "CONNECT") return true;
  }
  return false;
}

/**
 * The error for work a signal ended: `ABORTED` when the caller's `signal`
 * aborted; with `timeoutMs`, `TIMEOUT` when it did not (the work's own
 * deadline passed).
 *
 * @example
 * ```ts
 * import { abortedError } from "./errors.ts";
 * if (abortedError("pulling", AbortSignal.abort()).code !== "ABORTED") throw new Error("expected ABORTED");
 * if (abortedError("pulling", undefined, 5_000).message !== "pulling: did not finish within 5 s") throw new Error();
 * ```
 */
export function abortedError(doing: string, signal?: AbortSignal, timeoutMs?: number): BerthError {
  if (timeoutMs !== undefined && signal?.aborted !== true) {
    return new BerthError("TIMEOUT", `${doing}: did not finish within ${Math.round(timeoutMs / 1000)} s`);
  }
  return new BerthError("ABORTED", `${doing}: aborted`, { cause: signal?.reason });
}

/**
 * Waiting with an AbortSignal: the caller stops waiting, with an `ABORTED`
 * error, while the work itself may continue (and is cleaned up by its owner).
 *
 * @module
 */
import { BerthError } from "../../core/errors.ts";

/** The `ABORTED` error for `doing`. */
export function abortedError(doing: string, signal?: AbortSignal): BerthError {
  return new BerthError("ABORTED", `${doing}: aborted`, { cause: signal?.reason });
}

/**
 * Resolves like `promise` unless `signal` aborts first.
 *
 * @throws {BerthError} `ABORTED` when the signal aborts before the promise settles.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, doing: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortedError(doing, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(doing, signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Waits `ms` milliseconds.
 *
 * @throws {BerthError} `ABORTED` when the signal aborts first.
 */
export function sleep(ms: number, signal: AbortSignal | undefined, doing: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(doing, signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(doing, signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

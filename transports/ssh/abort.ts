/**
 * Waiting with an AbortSignal: the caller stops waiting, with an `ABORTED`
 * error, while the work itself may continue (and is cleaned up by its owner).
 *
 * @module
 */
import { abortedError } from "../../core/errors.ts";

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

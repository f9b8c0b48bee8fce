/**
 * Passing an optional AbortSignal on: with `exactOptionalPropertyTypes`, an
 * options object may not carry `signal: undefined`.
 *
 * @module
 */

/**
 * `{ signal }` when there is a signal, else `{}`.
 *
 * @example
 * ```ts
 * import { signalOption } from "./signal.ts";
 * if ("signal" in signalOption(undefined)) throw new Error("wrong");
 * ```
 */
export function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

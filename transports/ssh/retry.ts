/**
 * Retrying a connection: again every `intervalMs` while it fails with
 * `CONNECT` (refused, unreachable, dropped), until `timeoutMs` have passed.
 * An attempt the host never answered (its cause a `SilentHostError`) is not
 * repeated: it already took the whole connection timeout, and a silent host
 * is reported in that time, not after minutes. Any other error (`AUTH`,
 * `HOST_KEY`, ...) ends it at once.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { abortedError, BerthError } from "../../core/errors.ts";
import { signalOption } from "../../core/signal.ts";
import { fromSilentHost } from "./hop.ts";

/** Options of {@link retryConnect}. */
export interface RetryOptions {
  /** Stop retrying once this much time has passed since the first attempt. */
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  signal?: AbortSignal;
  /** Host for the error's context. */
  host?: string;
  /** Told once, at the first failed attempt that will be retried: that it retries, and until when. */
  onRetry?: (message: string) => void;
}

/**
 * Runs `attempt` until it succeeds or retries run out.
 *
 * @param what What is being connected to, for the message (`root@10.0.0.2:22`).
 * @param attempt One connection attempt.
 * @throws {BerthError} `CONNECT` naming `what`, the attempts made and the last cause; other errors of `attempt` unchanged.
 */
export async function retryConnect<T>(what: string, attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempts = 1;; attempts++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof BerthError) || err.code !== "CONNECT") throw err;
      const elapsed = Date.now() - started;
      if (elapsed + options.intervalMs > options.timeoutMs || fromSilentHost(err)) {
        throw new BerthError(
          "CONNECT",
          `Cannot connect to ${what} (${attempts} attempt${attempts === 1 ? "" : "s"} in ${
            (elapsed / 1000).toFixed(1)
          }s): ${err.message}`,
          { cause: err, ...(options.host === undefined ? {} : { host: options.host }) },
        );
      }
      if (attempts === 1) {
        const until = new Date(started + options.timeoutMs).toISOString().slice(11, 19);
        options.onRetry?.(
          `${err.message}: retrying every ${seconds(options.intervalMs)} until ${until} UTC (retryTimeout ${
            seconds(options.timeoutMs)
          })`,
        );
      }
      await sleep(options.intervalMs, undefined, signalOption(options.signal)).catch((cause: unknown) => {
        throw options.signal?.aborted ? abortedError(`connecting to ${what}`, options.signal) : cause;
      });
    }
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

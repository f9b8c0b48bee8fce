/**
 * Opening one SSH channel to a unix socket (`direct-streamlocal@openssh.com`)
 * or a TCP address (`direct-tcpip`) as seen from the server.
 *
 * @module
 */
import { Duplex } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import { abortedError, BerthError } from "../../core/errors.ts";

/** Where a channel leads on the server side. */
export type ChannelTarget = { path: string } | { host: string; port: number };

/** Options of {@link openChannel}. */
export interface ChannelOptions {
  /** How long to wait for the server to open the channel. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The server, for messages (`root@10.0.0.2:22`). */
  via: string;
}

/**
 * Opens a channel on an authenticated client.
 *
 * @returns The channel stream; nothing listens locally.
 * @throws {BerthError} `CONNECT` when the server refuses or does not answer in time, or `ABORTED`.
 */
export function openChannel(client: Client, target: ChannelTarget, options: ChannelOptions): Promise<ClientChannel> {
  const doing = "path" in target
    ? `opening unix socket "${target.path}" through ${options.via}`
    : `opening TCP ${target.host}:${target.port} through ${options.via}`;
  return new Promise<ClientChannel>((resolve, reject) => {
    let settled = false;
    const settle = (err: BerthError | undefined, stream?: ClientChannel) => {
      if (settled) {
        stream?.destroy(); // arrived after a timeout or abort
        return;
      }
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (err === undefined && stream !== undefined) resolve(stream);
      else reject(err);
    };
    const onAbort = () => settle(abortedError(doing, options.signal));
    const timer = setTimeout(
      () => settle(new BerthError("CONNECT", `${doing}: no answer in ${options.timeoutMs}ms`)),
      options.timeoutMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = (err: Error | undefined, stream: ClientChannel) =>
      settle(
        err
          ? new BerthError(
            "CONNECT",
            `${doing}: ${err.message}${/open failed/i.test(err.message) ? refusalHint(target) : ""}`,
            { cause: err },
          )
          : undefined,
        stream,
      );
    try {
      if ("path" in target) client.openssh_forwardOutStreamLocal(target.path, done);
      else client.forwardOut("127.0.0.1", 0, target.host, target.port, done);
    } catch (err) {
      settle(new BerthError("CONNECT", `${doing}: ${(err as Error).message}`, { cause: err }));
    }
  });
}

/** sshd says only "open failed" when nothing listens there: say what that usually means. */
function refusalHint(target: ChannelTarget): string {
  return "path" in target
    ? ` (nothing accepts connections on "${target.path}" on that host: is its container engine running, and is the socket path right?)`
    : ` (nothing accepts connections on ${target.host}:${target.port} as seen from that host)`;
}

/**
 * Destroys a channel stream for its readers and writers, with `error` if
 * given. (ssh2's own `Channel.destroy()` only half-closes the channel and
 * drops the error; a paused stream would then never emit `close`.)
 */
export function destroyChannel(channel: Duplex, error?: Error): void {
  Duplex.prototype.destroy.call(channel, error);
}

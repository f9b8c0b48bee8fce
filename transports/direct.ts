/**
 * The `direct` transport: the runtime address is reached from this machine,
 * with plain `node:net` sockets.
 *
 * @module
 */
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { abortedError, BerthError } from "../core/errors.ts";
import { signalOption } from "../core/signal.ts";
import type { OpenOptions, Transport } from "./transport.ts";
import { localFiles } from "./local-files.ts";

/**
 * Creates the transport for hosts reached without SSH.
 *
 * @returns A transport whose streams are local unix or TCP sockets.
 *
 * @example
 * ```ts
 * import { directTransport } from "./direct.ts";
 * const transport = directTransport();
 * if (transport.description !== "direct") throw new Error("unexpected");
 * await transport.close();
 * ```
 */
export function directTransport(): Transport {
  const open = new Set<Socket>();

  function dial(address: string, socket: Socket, options: OpenOptions): Promise<Duplex> {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    return once(socket, "connect", signalOption(options.signal)).then(
      () => socket,
      (err: Error) => {
        socket.destroy();
        if (options.signal?.aborted) throw abortedError(`connecting to ${address}`, options.signal);
        throw new BerthError("CONNECT", `connecting to ${address}: ${err.message}`, { cause: err });
      },
    );
  }

  return {
    description: "direct",
    connect: () => Promise.resolve(),
    openUnixSocket: (path, options = {}) => dial(`unix socket ${path}`, connect({ path }), options),
    openTcp: (host, port, options = {}) => dial(`${host}:${port}`, connect({ host, port, noDelay: true }), options),
    files: localFiles,
    close: () => {
      for (const socket of open) socket.destroy();
      open.clear();
      return Promise.resolve();
    },
  };
}

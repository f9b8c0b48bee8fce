/**
 * The `direct` transport: the runtime address is reached from this machine,
 * with plain `node:net` sockets.
 *
 * @module
 */
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { BerthError } from "../core/errors.ts";
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
    return new Promise<Duplex>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = () => {
        cleanup();
        socket.destroy();
        reject(new BerthError("ABORTED", `connecting to ${address}: aborted`, { cause: signal?.reason }));
      };
      const onError = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(new BerthError("CONNECT", `connecting to ${address}: ${err.message}`, { cause: err }));
      };
      const onConnect = () => {
        cleanup();
        resolve(socket);
      };
      const cleanup = () => {
        signal?.removeEventListener("abort", onAbort);
        socket.off("error", onError);
        socket.off("connect", onConnect);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("error", onError);
      socket.once("connect", onConnect);
    });
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

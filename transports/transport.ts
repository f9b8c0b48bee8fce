/**
 * The transport seam: how a host's runtime is reached. A transport hands out
 * duplex streams; the runtime plugin uses each as an HTTP (or gRPC)
 * connection and never knows whether it is local or tunnelled through SSH.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { HostFileSystem } from "./file-system.ts";

/** Options every transport call accepts. */
export interface OpenOptions {
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

/** Connections to one host. */
export interface Transport {
  /** A name for messages: `direct` or `user@address:port`. */
  readonly description: string;
  /** Establishes the session (SSH handshake); a no-op for `direct`. Idempotent. */
  connect(options?: OpenOptions): Promise<void>;
  /** A stream to a unix socket on the host. */
  openUnixSocket(path: string, options?: OpenOptions): Promise<Duplex>;
  /** A stream to a TCP address as seen from the host. */
  openTcp(host: string, port: number, options?: OpenOptions): Promise<Duplex>;
  /** The files of the machine this transport reaches (the local file system, or SFTP on the SSH connection). */
  files(): HostFileSystem;
  /** Sessions established so far, for transports that have them (SSH); one per run is the goal. */
  readonly handshakes?: number;
  /** Closes the session and every stream it opened. Idempotent. */
  close(): Promise<void>;
}

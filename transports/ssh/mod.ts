/**
 * The SSH transport: one SSH connection per host (optionally through jump
 * hosts), shared by every request; each request gets its own channel to the
 * runtime's unix socket or TCP address. Nothing listens locally.
 *
 * @module
 */
import { once } from "node:events";
import type { Duplex } from "node:stream";
import type { Client, SFTPWrapper } from "ssh2";
import { abortedError, BerthError, withContext } from "../../core/errors.ts";
import type { SSHConfig } from "../../core/model.ts";
import type { OpenOptions, Transport } from "../transport.ts";
import type { HostFileSystem } from "../file-system.ts";
import { sftpFiles } from "./sftp-files.ts";
import { abortable } from "./abort.ts";
import { type ChannelTarget, destroyChannel, openChannel } from "./channel.ts";
import { connectChain } from "./jump.ts";
import { retryConnect } from "./retry.ts";
import { fromSilentHost } from "./hop.ts";
import { describeHop, type HopSettings, resolveSettings, type SSHSettings } from "./settings.ts";
import { signalOption } from "../../core/signal.ts";

/** Options of {@link sshTransport}. */
export interface SSHTransportOptions {
  /** Where warnings go (insecure host keys, recorded keys); stderr by default. */
  log?: (message: string) => void;
  /** Environment for `SSH_AUTH_SOCK`; `process.env` by default. */
  env?: Record<string, string | undefined>;
  /**
   * One connection attempt: a refused connection or an unknown host name is reported at once, not
   * retried until `retryTimeout` (for a plan or a status, where waiting helps nobody).
   */
  failFast?: boolean;
}

/** An SSH transport, which also tells how many SSH sessions it has established. */
export interface SSHTransport extends Transport {
  /** Sessions established to the target so far (1 for a healthy run; more after reconnects). */
  readonly handshakes: number;
}

/**
 * Creates the SSH transport for one host. It connects lazily, on the first
 * `connect()` or `open*()`, retrying refused or timed-out connections until
 * `retryTimeout`; a connection lost later is re-established on the next call.
 *
 * @param config The host's SSH settings (defaults: user `root`, port 22, strict host keys from `~/.ssh/known_hosts`).
 * @param options Logging and environment.
 * @returns A transport; call `close()` when done.
 * @throws {BerthError} `VALIDATION` for an unparseable duration or port.
 *
 * @example
 * ```ts ignore
 * import { sshTransport } from "./mod.ts";
 * const ssh = sshTransport({ address: "10.0.0.2", privateKeyPath: "~/.ssh/id_ed25519" });
 * const socket = await ssh.openUnixSocket("/var/run/docker.sock");
 * socket.end("GET /_ping HTTP/1.0\r\n\r\n");
 * await ssh.close();
 * ```
 */
export function sshTransport(config: SSHConfig, options: SSHTransportOptions = {}): SSHTransport {
  const log = options.log ?? ((message: string) => void process.stderr.write(`${message}\n`));
  const settings = resolveSettings(config, options.env ?? process.env);
  return new SSHConnection(options.failFast === true ? { ...settings, retryTimeoutMs: 0 } : settings, log);
}

interface PendingConnect {
  promise: Promise<Client[]>;
  controller: AbortController;
  waiters: number;
}

class SSHConnection implements SSHTransport {
  readonly description: string;
  readonly #settings: SSHSettings;
  readonly #target: HopSettings;
  readonly #log: (message: string) => void;
  readonly #closing = new AbortController();
  readonly #channels = new Set<Duplex>();
  #clients: Client[] | undefined;
  /** The SFTP session of the live connection: one per connection, opened on first use. */
  #sftp: { client: Client; session: Promise<SFTPWrapper> } | undefined;
  #files: HostFileSystem | undefined;
  #pending: PendingConnect | undefined;
  /** The last attempt's failure when the host did not answer at all, and until when callers get it at once. */
  #silent: { error: BerthError; until: number } | undefined;
  #handshakes = 0;

  constructor(settings: SSHSettings, log: (message: string) => void) {
    this.#settings = settings;
    this.#target = settings.hops.at(-1) as HopSettings;
    this.#log = log;
    this.description = describeHop(this.#target);
  }

  get handshakes(): number {
    return this.#handshakes;
  }

  async connect(options: OpenOptions = {}): Promise<void> {
    await this.#session(options.signal);
  }

  openUnixSocket(path: string, options: OpenOptions = {}): Promise<Duplex> {
    return this.#open({ path }, options.signal);
  }

  openTcp(host: string, port: number, options: OpenOptions = {}): Promise<Duplex> {
    return this.#open({ host, port }, options.signal);
  }

  files(): HostFileSystem {
    this.#files ??= sftpFiles(() => this.#sftpSession(), this.description);
    return this.#files;
  }

  async #sftpSession(): Promise<SFTPWrapper> {
    const client = await this.#session(undefined);
    if (this.#sftp?.client !== client) {
      const session = new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, sftp) => {
          if (err === undefined) return resolve(sftp);
          // No SFTP subsystem on the server: the caller takes another road, as for a refused path.
          reject(
            new BerthError("PERMISSION", `opening an SFTP session to ${this.description}: ${err.message}`, {
              host: this.#target.address,
              cause: err,
            }),
          );
        })
      );
      session.catch(() => {
        if (this.#sftp?.session === session) this.#sftp = undefined;
      });
      this.#sftp = { client, session };
    }
    return this.#sftp.session;
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    for (const channel of this.#channels) destroyChannel(channel);
    this.#channels.clear();
    const clients = this.#clients ?? [];
    this.#clients = undefined;
    const pending = this.#pending?.promise.catch(() => undefined);
    for (const client of [...clients].reverse()) await endClient(client);
    await pending;
  }

  async #open(target: ChannelTarget, signal: AbortSignal | undefined): Promise<Duplex> {
    const client = await this.#session(signal);
    const stream = await openChannel(client, target, {
      timeoutMs: this.#target.connectionTimeoutMs,
      via: this.description,
      ...signalOption(signal),
    });
    if (this.#closing.signal.aborted) {
      destroyChannel(stream);
      throw this.#closedError();
    }
    this.#channels.add(stream);
    stream.once("close", () => this.#channels.delete(stream));
    return stream;
  }

  /** The ready target client; concurrent callers share one connection attempt. */
  async #session(signal: AbortSignal | undefined): Promise<Client> {
    if (this.#closing.signal.aborted) throw this.#closedError();
    if (this.#clients !== undefined) return this.#clients.at(-1) as Client;
    // A host that just let a whole connection timeout pass in silence would only do it again: the steps
    // still queued for it (an apply whose link went) fail now, not one connection timeout later each.
    if (this.#silent !== undefined && Date.now() < this.#silent.until) throw this.#silent.error;
    const doing = `connecting to ${this.description}`;
    if (signal?.aborted) throw abortedError(doing, signal);
    const pending = this.#pending ?? this.#startConnect();
    pending.waiters++;
    try {
      const clients = await abortable(pending.promise, signal, doing);
      return clients.at(-1) as Client;
    } finally {
      // The attempt stops when every caller has given up on it; later callers start afresh.
      if (--pending.waiters === 0 && this.#pending === pending) {
        this.#pending = undefined;
        pending.controller.abort();
      }
    }
  }

  #startConnect(): PendingConnect {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#closing.signal]);
    const hops = this.#settings.hops;
    const via = hops.length > 1 ? ` via ${hops.slice(0, -1).map(describeHop).join(", ")}` : "";
    const what = `${this.description}${via}`;
    const attempt = () =>
      connectChain(hops, { signal, log: this.#log }).catch((err: unknown) => {
        throw via === "" || !(err instanceof BerthError) || err.code === "CONNECT"
          ? err
          : withContext(err, `connecting to ${what}`);
      });
    const promise = retryConnect(what, attempt, {
      timeoutMs: this.#settings.retryTimeoutMs,
      intervalMs: this.#settings.retryIntervalMs,
      signal,
      host: this.#target.address,
      onRetry: this.#log,
    }).then((clients) => this.#adopt(clients, signal), (err: unknown) => {
      if (err instanceof BerthError && fromSilentHost(err)) {
        this.#silent = { error: err, until: Date.now() + this.#target.connectionTimeoutMs };
      }
      throw err;
    }).finally(() => {
      if (this.#pending === pending) this.#pending = undefined;
    });
    const pending: PendingConnect = { promise, controller, waiters: 0 };
    this.#pending = pending;
    return pending;
  }

  /** Makes a fresh chain the live session, unless its attempt was given up or the transport closed meanwhile. */
  #adopt(clients: Client[], signal: AbortSignal): Client[] {
    if (signal.aborted) {
      for (const client of [...clients].reverse()) client.destroy();
      throw this.#closing.signal.aborted
        ? this.#closedError()
        : abortedError(`connecting to ${this.description}`, signal);
    }
    this.#clients = clients;
    this.#silent = undefined;
    this.#handshakes++;
    let lastError: Error | undefined;
    for (const client of clients) {
      client.on("error", (err: Error) => (lastError = err));
      client.once("close", () => this.#lost(clients, lastError));
    }
    return clients;
  }

  /** A hop of the live chain went away: fail its open channels; the next call reconnects. */
  #lost(clients: Client[], cause: Error | undefined): void {
    if (this.#clients !== clients) return;
    this.#clients = undefined;
    for (const client of [...clients].reverse()) client.destroy();
    const error = new BerthError(
      "CONNECT",
      `SSH connection to ${this.description} lost${cause === undefined ? "" : `: ${cause.message}`}`,
      {
        host: this.#target.address,
        cause,
      },
    );
    for (const channel of this.#channels) destroyChannel(channel, error);
    this.#channels.clear();
  }

  #closedError(): BerthError {
    return new BerthError("CONNECT", `SSH transport to ${this.description} is closed`, { host: this.#target.address });
  }
}

/** Ends a client politely, destroying it if it has not closed within a second. */
async function endClient(client: Client): Promise<void> {
  const closed = once(client, "close", { signal: AbortSignal.timeout(1000) });
  client.end();
  await closed.catch(() => client.destroy());
}

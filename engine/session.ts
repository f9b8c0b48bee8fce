/**
 * The connections of one run: one transport per host, one runtime per host
 * and runtime settings, one file access per host and runtime. Everything is
 * opened on first use and closed together.
 *
 * @module
 */
import { withContext } from "../core/errors.ts";
import { runtimeIdentity } from "../core/hash.ts";
import type { Host, HostConfiguredContainer, ImageIdentity, RuntimeConfig } from "../core/model.ts";
import { loadRuntime } from "../runtimes/registry.ts";
import type { PullProgress } from "../runtimes/docker/image.ts";
import type { Runtime } from "../runtimes/runtime.ts";
import { openTransport, type OpenTransportOptions } from "../transports/registry.ts";
import type { Transport } from "../transports/transport.ts";
import { HostFiles } from "./host-files.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import { signalOption } from "../core/signal.ts";

/** How one host was reached in a run. */
export interface HostConnection {
  /** The host's key. */
  host: string;
  /** The transport's description (`direct`, `ssh root@10.0.0.2:22`), or `not opened`. */
  via: string;
  /** SSH handshakes made, for SSH transports. */
  handshakes: number | undefined;
}

const DEFAULT_RUNTIME: RuntimeConfig = { docker: {} };

interface HostEntry {
  transport: Promise<Transport>;
  runtimes: Map<string, Promise<Runtime>>;
  files: Map<string, HostFiles>;
  /** Images known to be present, per runtime: checked (or pulled) once per run. */
  images: Map<string, Promise<void>>;
  /** Image identities and registry digests asked in this run. */
  answers: Map<string, Promise<unknown>>;
}

/** Options of a session. */
export interface SessionOptions extends OpenTransportOptions {
  /**
   * How to reach a host, by host key: the desired settings win over the
   * recorded ones, so credentials changed in the config are used for
   * containers that exist only in the state.
   */
  reach?: (host: Host) => Host;
  /** Told the progress messages of image pulls, with the host's label. */
  onPullProgress?: (host: string, image: string, progress: PullProgress) => void;
}

/** Connections and helpers of one run. */
export class Session {
  readonly #hosts = new Map<string, HostEntry>();
  /** How each host closed by {@link release} was reached, for {@link connections}, and its closing. */
  readonly #released = new Map<string, { connection: Promise<HostConnection>; closed: Promise<Error[]> }>();
  readonly #options: SessionOptions;

  constructor(options: SessionOptions = {}) {
    this.#options = options;
  }

  /** The runtime that runs this container, connected on first use. */
  runtime(hcc: HostConfiguredContainer, signal?: AbortSignal): Promise<Runtime> {
    const entry = this.#entry(hcc.host);
    const config = hcc.container.runtime ?? DEFAULT_RUNTIME;
    const key = JSON.stringify(config);
    let runtime = entry.runtimes.get(key);
    if (runtime === undefined) {
      const label = hostLabel(hcc.host);
      runtime = entry.transport.then(async (transport) => {
        const onPull = this.#options.onPullProgress;
        // The runtime's code loads while the connection is made (a runtime contacts nothing until its first
        // call); a connection error is still the one reported.
        const loading = loadRuntime(config, {
          transport,
          hostLabel: label,
          ...(onPull === undefined ? {} : { onProgress: (image: string, p: PullProgress) => onPull(label, image, p) }),
        });
        loading.catch(() => {});
        try {
          await transport.connect(signalOption(signal));
        } catch (err) {
          throw withContext(err, `connecting to host ${label}`, { fallback: "CONNECT" });
        }
        return loading;
      });
      entry.runtimes.set(key, runtime);
    }
    return runtime;
  }

  /**
   * Makes sure the container's image is on its host, as its `pull` policy
   * says: asked (or pulled) once per host, image and policy in a run.
   */
  async ensureImage(hcc: HostConfiguredContainer, signal?: AbortSignal): Promise<void> {
    const runtime = await this.runtime(hcc, signal);
    const entry = this.#entry(hcc.host);
    const { image, pull = "missing" } = hcc.container.config;
    const key = `${JSON.stringify(hcc.container.runtime ?? DEFAULT_RUNTIME)} ${pull} ${image}`;
    let present = entry.images.get(key);
    if (present === undefined) {
      present = runtime.ensureImage(image, { ...signalOption(signal), pull });
      // A failure is not remembered: the next container tries again.
      present.catch(() => entry.images.delete(key));
      entry.images.set(key, present);
    }
    return present;
  }

  /**
   * Opens and closes a TCP connection to `port` on 127.0.0.1 as the
   * container's host sees it, through the host's transport (over SSH, a
   * channel the host's sshd connects): a gate's "port accepts connections".
   */
  async connectTcp(hcc: HostConfiguredContainer, port: number, signal?: AbortSignal): Promise<void> {
    const transport = await this.#entry(hcc.host).transport;
    await transport.connect(signalOption(signal));
    const stream = await transport.openTcp("127.0.0.1", port, signalOption(signal));
    stream.destroy();
  }

  /** The ID and repo digest of the container's image on its host; undefined when absent or the lookup failed. */
  imageIdentity(hcc: HostConfiguredContainer, signal?: AbortSignal): Promise<ImageIdentity | undefined> {
    return this.#cached(
      hcc,
      "identity",
      (runtime, image) => runtime.imageIdentity(image, signalOption(signal)).catch(() => undefined),
    );
  }

  /**
   * The digest the registry serves for the container's image now, asked
   * read-only once per host and image in a run; undefined where the runtime
   * cannot ask. Rejects when the registry cannot be asked.
   */
  registryDigest(hcc: HostConfiguredContainer, signal?: AbortSignal): Promise<string | undefined> {
    return this.#cached(
      hcc,
      "registry",
      (runtime, image) =>
        runtime.registryDigest === undefined
          ? Promise.resolve(undefined)
          : runtime.registryDigest(image, signalOption(signal)),
    );
  }

  #cached<T>(
    hcc: HostConfiguredContainer,
    kind: string,
    ask: (runtime: Runtime, image: string) => Promise<T>,
  ): Promise<T> {
    const entry = this.#entry(hcc.host);
    const key = `${kind} ${JSON.stringify(hcc.container.runtime ?? DEFAULT_RUNTIME)} ${hcc.container.config.image}`;
    let answer = entry.answers.get(key) as Promise<T> | undefined;
    if (answer === undefined) {
      answer = this.runtime(hcc).then((runtime) => ask(runtime, hcc.container.config.image));
      entry.answers.set(key, answer);
    }
    return answer;
  }

  /** File access on the container's host (a fallback helper would use the container's image). */
  async files(hcc: HostConfiguredContainer, signal?: AbortSignal): Promise<HostFiles> {
    const runtime = await this.runtime(hcc, signal);
    const entry = this.#entry(hcc.host);
    // By engine, not by settings: a recorded entry (no registryAuth) and the desired one share the helper.
    const key = JSON.stringify(runtimeIdentity(hcc.container.runtime));
    let files = entry.files.get(key);
    if (files === undefined) {
      files = new HostFiles(runtime, hostLabel(hcc.host), hcc.container.config.image);
      entry.files.set(key, files);
    }
    return files;
  }

  /** Per host: how it was reached and how many sessions (SSH handshakes) that took. */
  async connections(): Promise<HostConnection[]> {
    const open = [...this.#hosts.entries()].map(([key, entry]) => connectionOf(key, entry));
    const all = await Promise.all([...[...this.#released.values()].map((r) => r.connection), ...open]);
    return all.sort((a, b) => a.host.localeCompare(b.host));
  }

  /**
   * Closes one host's connections now, for a check that will not use them
   * again (a plan, a status): a run over 1,000 hosts then holds only the
   * hosts in flight, not every connection it made. Asked again, the host is
   * connected again. The closing goes on in the background; {@link close} waits for it.
   */
  release(host: Host): void {
    const key = hostKey(host);
    const entry = this.#hosts.get(key);
    if (entry === undefined) return;
    this.#hosts.delete(key);
    this.#released.set(key, { connection: connectionOf(key, entry), closed: closeEntry(key, entry) });
  }

  /** Closes every connection. Returns what failed to close (host named), never throws. */
  async close(): Promise<Error[]> {
    const errors = await Promise.all([
      ...[...this.#released.values()].map((r) => r.closed),
      ...[...this.#hosts].map(([key, entry]) => closeEntry(key, entry)),
    ]);
    this.#hosts.clear();
    return errors.flat();
  }

  #entry(host: Host): HostEntry {
    const key = hostKey(host);
    let entry = this.#hosts.get(key);
    if (entry === undefined) {
      const reach = this.#options.reach?.(host) ?? host;
      const { log, env, failFast } = this.#options;
      entry = {
        transport: openTransport(reach, {
          ...(log === undefined ? {} : { log }),
          ...(env === undefined ? {} : { env }),
          ...(failFast === undefined ? {} : { failFast }),
        }),
        runtimes: new Map(),
        files: new Map(),
        images: new Map(),
        answers: new Map(),
      };
      this.#hosts.set(key, entry);
    }
    return entry;
  }
}

async function connectionOf(key: string, entry: HostEntry): Promise<HostConnection> {
  const transport = await entry.transport.catch(() => undefined);
  return { host: key, via: transport?.description ?? "not opened", handshakes: transport?.handshakes };
}

/** Closes a host's runtimes, then its transport; a runtime or transport that never opened has nothing to close. */
async function closeEntry(key: string, entry: HostEntry): Promise<Error[]> {
  const errors: Error[] = [];
  const closeOne = async (opened: Promise<{ close(): Promise<void> }>) => {
    const it = await opened.catch(() => undefined);
    await it?.close().catch((err) => errors.push(withContext(err, `closing the connection to host ${key}`)));
  };
  for (const runtime of entry.runtimes.values()) await closeOne(runtime);
  await closeOne(entry.transport);
  return errors;
}

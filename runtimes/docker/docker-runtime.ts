/**
 * The Docker runtime plugin: the {@link Runtime} operations as Docker Engine
 * API calls over connections from a transport.
 *
 * @module
 */
import process from "node:process";
import { BerthError, withContext } from "../../core/errors.ts";
import type {
  ContainerConfig,
  ContainerStatus,
  DockerRuntimeConfig,
  ImageIdentity,
  Mount,
  NetworkAttachment,
} from "../../core/model.ts";
import type { Transport } from "../../transports/transport.ts";
import type {
  CallOptions,
  CreateOptions,
  FileRead,
  FileToWrite,
  LogOptions,
  ObservedContainer,
  PathInfo,
  Runtime,
} from "../runtime.ts";
import { LABEL_MANAGED } from "../runtime.ts";
import { type DirectoryToCreate, packEntries } from "../tar.ts";
import { decodePathStat, readSingleFile } from "./archive.ts";
import { type CreateBody, createBody, endpointConfig, updateBody } from "./create-body.ts";
import { describeEndpoint, endpointConnect, resolveEndpoint } from "./endpoint.ts";
import { type EngineClient, engineClient } from "./engine-client.ts";
import { httpClient } from "../../transports/http/http-client.ts";
import { identityOf, imageMissing, parseImageReference } from "../image-reference.ts";
import { consumePullStream, explainPullError, type PullProgress, registryAuthHeader } from "./image.ts";
import { demultiplexLogs, logFrames } from "./logs.ts";
import { configFromInspect, IMPORT_COMPARED, type InspectedSettings } from "./config-from-inspect.ts";
import { signalOption } from "../../core/signal.ts";
import { shortId } from "../../core/container-id.ts";
import { quote } from "../../core/shape.ts";

/** Settings of {@link dockerRuntime} besides the runtime config. */
export interface DockerRuntimeOptions {
  /** How the host is reached. */
  transport: Transport;
  /** How the host is named in messages; default the transport's description. */
  hostLabel?: string;
  /** Called with every progress message of an image pull. */
  onProgress?: (image: string, progress: PullProgress) => void;
}

/** Headers timeout of ordinary calls that change something (create, start, remove, upload). */
const CALL_TIMEOUT_MS = 60_000;
/** Headers timeout of reads (inspect, list, image lookup): the engine answers them from memory. */
const READ_TIMEOUT_MS = 15_000;
/** A pull may sit silent while the registry is slow; fail only after this long without a message. */
const PULL_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * Creates the Docker runtime bound to one host. The engine address comes
 * from `config.host`, else (for the `direct` transport only) DOCKER_HOST,
 * else `unix:///var/run/docker.sock`. Nothing is connected until the first call.
 *
 * @param config Engine address, TLS files, registry credentials.
 * @param options Transport, host label, pull progress callback.
 * @returns The runtime; `close()` it when done.
 *
 * @example
 * ```ts
 * import { dockerRuntime } from "./mod.ts";
 * import { directTransport } from "../../transports/direct.ts";
 * const docker = dockerRuntime({ host: "unix:///var/run/docker.sock" }, { transport: directTransport(), hostLabel: "local" });
 * if (docker.filesNeedRunningContainer) throw new Error("unexpected");
 * await docker.close();
 * ```
 */
export function dockerRuntime(config: DockerRuntimeConfig, options: DockerRuntimeOptions): Runtime {
  const { transport } = options;
  const hostLabel = options.hostLabel ?? transport.description;
  // The docker CLI's variables describe this machine; they do not apply to a host reached through SSH.
  const endpoint = resolveEndpoint(config, transport.description === "direct" ? process.env : {});
  const http = httpClient({
    connect: endpointConnect(endpoint, transport),
    hostHeader: "docker",
    description: `the Docker engine at ${describeEndpoint(endpoint)} on host ${hostLabel}`,
  });
  const engine: EngineClient = engineClient(http, hostLabel);
  const path = (id: string) => `/containers/${encodeURIComponent(id)}`;

  async function listRows(filters: Record<string, string[]>, o?: CallOptions): Promise<ObservedContainer[]> {
    const rows = await engine.json<ListRow[]>({
      method: "GET",
      path: "/containers/json",
      query: { all: 1, filters: JSON.stringify(filters) },
      what: "listing containers",
      headersTimeoutMs: READ_TIMEOUT_MS,
      ...signalOption(o?.signal),
    });
    return rows.map(observedFromList);
  }

  function inspectRaw(idOrName: string, what: string, o?: CallOptions): Promise<InspectResponse | undefined> {
    return engine.jsonOrMissing<InspectResponse>({
      method: "GET",
      path: `${path(idOrName)}/json`,
      what,
      container: idOrName,
      headersTimeoutMs: READ_TIMEOUT_MS,
      ...signalOption(o?.signal),
    });
  }

  /** Creates a named volume when the engine has none of that name; an existing one is used as it is. */
  function ensureVolume(mount: Mount, signal: AbortSignal | undefined): Promise<void> {
    const name = mount.source as string;
    return createIfMissing("volume", name, {
      Name: name,
      Driver: mount.driver ?? "local",
      DriverOpts: mount.driverOptions ?? {},
      Labels: { [LABEL_MANAGED]: "true" },
    }, signal);
  }

  /** Removes the named volume or network; one that is not there counts as removed. */
  async function removeNamed(kind: "volume" | "network", name: string, signal: AbortSignal | undefined): Promise<void> {
    const res = await engine.request({
      method: "DELETE",
      path: `/${kind}s/${encodeURIComponent(name)}`,
      what: `removing ${kind} ${quote(name)}`,
      accept: [404],
      ...signalOption(signal),
    });
    await res.discard();
  }

  /** Asks for the named volume or network, and creates it with `body` only when the engine answers 404. */
  async function createIfMissing(
    kind: "volume" | "network",
    name: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const seen = await engine.request({
      method: "GET",
      path: `/${kind}s/${encodeURIComponent(name)}`,
      what: `inspecting ${kind} ${quote(name)}`,
      accept: [404],
      headersTimeoutMs: READ_TIMEOUT_MS,
      ...signalOption(signal),
    });
    await seen.discard();
    if (seen.status !== 404) return;
    const res = await engine.request({
      method: "POST",
      path: `/${kind}s/create`,
      json: body,
      what: `creating ${kind} ${quote(name)}`,
      ...signalOption(signal),
    });
    await res.discard();
  }

  // Containers of one host are created concurrently: those joining one new network share its creation.
  const networksInFlight = new Map<string, Promise<void>>();
  function ensureNetwork(network: NetworkAttachment, signal: AbortSignal | undefined): Promise<void> {
    let pending = networksInFlight.get(network.name);
    if (pending === undefined) {
      pending = createNetworkIfMissing(network, signal).finally(() => networksInFlight.delete(network.name));
      networksInFlight.set(network.name, pending);
    }
    return pending;
  }

  /** Creates a user-defined network when the engine has none of that name; an existing one is used as it is. */
  function createNetworkIfMissing(network: NetworkAttachment, signal: AbortSignal | undefined): Promise<void> {
    return createIfMissing("network", network.name, {
      Name: network.name,
      Driver: network.driver ?? "bridge",
      Internal: network.internal === true,
      CheckDuplicate: true,
      ...(network.subnet !== undefined && { IPAM: { Driver: "default", Config: [{ Subnet: network.subnet }] } }),
      Labels: { [LABEL_MANAGED]: "true" },
    }, signal);
  }

  async function statOne(id: string, target: string, o?: CallOptions): Promise<PathInfo | undefined> {
    const what = `checking "${target}" in container ${quote(shortId(id))}`;
    const res = await archive("HEAD", id, target, what, o);
    if (res.status === 404) {
      // A HEAD answer has no message telling a missing path from a missing container.
      if ((await inspectRaw(id, what, o)) === undefined) throw noSuchContainer(id, what);
      return undefined;
    }
    const header = res.headers["x-docker-container-path-stat"];
    if (header === undefined) {
      throw new BerthError("ENGINE", `${what} on host ${hostLabel}: no path-stat header in the answer`, {
        host: hostLabel,
      });
    }
    return decodePathStat(target, header);
  }

  /** Asks the archive endpoint about `target` in container `id`; a 404 is an answer, not an error. */
  function archive(method: "GET" | "HEAD", id: string, target: string, what: string, o?: CallOptions) {
    return engine.request({
      method,
      path: `${path(id)}/archive`,
      query: { path: target },
      what,
      container: id,
      accept: [404],
      ...signalOption(o?.signal),
    });
  }

  function noSuchContainer(id: string, what: string): BerthError {
    return new BerthError("NOT_FOUND", `${what} on host ${hostLabel}: no such container`, {
      host: hostLabel,
      container: id,
    });
  }

  async function upload(id: string, body: AsyncIterable<Uint8Array>, what: string, o?: CallOptions): Promise<void> {
    const res = await engine.request({
      method: "PUT",
      path: `${path(id)}/archive`,
      query: { path: "/", noOverwriteDirNonDir: true },
      headers: { "Content-Type": "application/x-tar" },
      body,
      what,
      container: id,
      ...signalOption(o?.signal),
    });
    await res.discard();
  }

  async function imageIdentity(image: string, o?: CallOptions): Promise<ImageIdentity | undefined> {
    const info = await engine.jsonOrMissing<{ Id: string; RepoDigests?: string[] | null }>({
      method: "GET",
      path: `/images/${encodeURI(image)}/json`,
      what: `looking up image "${image}"`,
      headersTimeoutMs: READ_TIMEOUT_MS,
      ...signalOption(o?.signal),
    });
    return info === undefined ? undefined : identityOf(image, info.Id, info.RepoDigests ?? []);
  }

  async function pull(image: string, o?: CallOptions): Promise<void> {
    const ref = parseImageReference(image);
    const auth = registryAuthHeader(ref.registry, config.registryAuth);
    const doing = `pulling image "${image}" on host ${hostLabel}`;
    let res;
    try {
      res = await engine.request({
        method: "POST",
        path: "/images/create",
        query: { fromImage: ref.repository, tag: ref.tag },
        ...(auth !== undefined && { headers: { "X-Registry-Auth": auth } }),
        what: `pulling image "${image}"`,
        idleTimeoutMs: PULL_IDLE_TIMEOUT_MS,
        headersTimeoutMs: PULL_IDLE_TIMEOUT_MS,
        ...signalOption(o?.signal),
      });
    } catch (err) {
      if (err instanceof BerthError && (err.code === "ABORTED" || err.code === "TIMEOUT" || err.code === "CONNECT")) {
        throw err;
      }
      const message = err instanceof Error ? err.message : String(err);
      throw new BerthError("IMAGE_PULL", explainPullError(message), { host: hostLabel, cause: err });
    }
    const onProgress = options.onProgress;
    await consumePullStream(res.body, doing, onProgress === undefined ? undefined : (p) => onProgress(image, p));
  }

  return {
    filesNeedRunningContainer: false,
    // An engine on a unix socket runs on the machine the transport reaches; one over TCP may run anywhere.
    hostFiles: endpoint.kind === "unix" ? transport.files() : undefined,

    async ensureImage(image, o) {
      const policy = o?.pull ?? "missing";
      // A digest reference names one image for good: present is as good as pulled again.
      if (policy === "always" && !image.includes("@")) return await pull(image, o);
      if ((await imageIdentity(image, o)) !== undefined) return;
      if (policy === "never") throw imageMissing(image, hostLabel);
      await pull(image, o);
    },

    imageIdentity,

    async registryDigest(image, o) {
      const ref = parseImageReference(image);
      const auth = registryAuthHeader(ref.registry, config.registryAuth);
      const info = await engine.json<{ Descriptor?: { digest?: string } }>({
        method: "GET",
        path: `/distribution/${encodeURI(image)}/json`,
        ...(auth !== undefined && { headers: { "X-Registry-Auth": auth } }),
        what: `asking the registry for image "${image}"`,
        headersTimeoutMs: CALL_TIMEOUT_MS,
        ...signalOption(o?.signal),
      });
      const digest = info.Descriptor?.digest;
      if (digest === undefined) {
        throw new BerthError(
          "ENGINE",
          `asking the registry for image "${image}" on host ${hostLabel}: no digest in the answer`,
        );
      }
      return digest;
    },

    async create(containerConfig: ContainerConfig, o?: CreateOptions) {
      const name = containerConfig.name;
      for (const mount of containerConfig.mounts ?? []) {
        if (mount.type === "volume") await ensureVolume(mount, o?.signal);
      }
      for (const network of containerConfig.networks ?? []) await ensureNetwork(network, o?.signal);
      const created = await engine.json<{ Id: string }>({
        method: "POST",
        path: "/containers/create",
        query: { name },
        json: createBody(containerConfig, o ?? {}),
        what: `creating container "${name}"`,
        container: name,
        ...signalOption(o?.signal),
      });
      // The create request joined the first network; the engine takes the others one by one.
      for (const network of (containerConfig.networks ?? []).slice(1)) {
        const res = await engine.request({
          method: "POST",
          path: `/networks/${encodeURIComponent(network.name)}/connect`,
          json: { Container: created.Id, EndpointConfig: endpointConfig(network) },
          what: `connecting container "${name}" to network ${quote(network.name)}`,
          container: name,
          ...signalOption(o?.signal),
        });
        await res.discard();
      }
      return created.Id;
    },

    removeVolume: (volume, o) => removeNamed("volume", volume, o?.signal),

    removeNetwork: (network, o) => removeNamed("network", network, o?.signal),

    async start(id, o) {
      const res = await engine.request({
        method: "POST",
        path: `${path(id)}/start`,
        what: `starting container ${quote(shortId(id))}`,
        container: id,
        accept: [304],
        ...signalOption(o?.signal),
      });
      await res.discard();
    },

    async rename(id, name, o) {
      const res = await engine.request({
        method: "POST",
        path: `${path(id)}/rename`,
        query: { name },
        what: `renaming container ${quote(shortId(id))} to ${quote(name)}`,
        container: id,
        ...signalOption(o?.signal),
      });
      await res.discard();
    },

    async update(id, containerConfig, o) {
      const res = await engine.request({
        method: "POST",
        path: `${path(id)}/update`,
        json: updateBody(containerConfig),
        what: `updating container ${quote(shortId(id))}`,
        container: id,
        ...signalOption(o?.signal),
      });
      await res.discard();
    },

    async stop(id, o) {
      const seconds = o?.timeoutSeconds ?? 10;
      const res = await engine.request({
        method: "POST",
        path: `${path(id)}/stop`,
        query: { t: seconds },
        what: `stopping container ${quote(shortId(id))}`,
        container: id,
        accept: [304],
        headersTimeoutMs: seconds * 1000 + CALL_TIMEOUT_MS,
        ...signalOption(o?.signal),
      });
      await res.discard();
    },

    async remove(id, o) {
      try {
        const res = await engine.request({
          method: "DELETE",
          path: path(id),
          query: { force: o?.force === true },
          what: `removing container ${quote(shortId(id))}`,
          container: id,
          ...signalOption(o?.signal),
        });
        await res.discard();
      } catch (err) {
        // A run killed during its removal leaves the engine finishing it: wait for that instead of failing.
        if (!(err instanceof BerthError && err.code === "CONFLICT" && /already in progress/.test(err.message))) {
          throw err;
        }
        for (
          const deadline = Date.now() + CALL_TIMEOUT_MS;
          (await inspectRaw(id, `removing container ${quote(shortId(id))}`, o)) !== undefined;
        ) {
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },

    async status(id, o): Promise<ContainerStatus | undefined> {
      const info = await inspectRaw(id, `reading the status of container ${quote(shortId(id))}`, o);
      return info === undefined ? undefined : { id: info.Id, status: info.State.Status };
    },

    async inspect(idOrName, o) {
      const info = await inspectRaw(idOrName, `inspecting container ${quote(shortId(idOrName))}`, o);
      return info === undefined ? undefined : observedFromInspect(info);
    },

    async list(labels, o) {
      return await listRows({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }, o);
    },

    async listNamed(names, o) {
      // The engine's name filter is a regular expression matched anywhere in "/name": anchored and escaped.
      const name = names.map((n) => `^/${n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
      const wanted = new Set(names);
      return (await listRows({ name }, o)).filter((c) => wanted.has(c.name));
    },

    async writeFiles(id, files: FileToWrite[], o) {
      if (files.length === 0) return;
      const names = files.map((f) => `"${f.path}"`).join(", ");
      await upload(id, packEntries([], files), `writing ${names} in container ${quote(shortId(id))}`, o);
    },

    async readFiles(id, paths, o): Promise<FileRead[]> {
      const result: FileRead[] = [];
      for (const target of paths) {
        const what = `reading "${target}" from container ${quote(shortId(id))}`;
        const res = await archive("GET", id, target, what, o);
        if (res.status === 404) {
          if (/no such container/i.test(await res.text())) throw noSuchContainer(id, what);
          continue;
        }
        try {
          result.push({ path: target, ...(await readSingleFile(res.body, target)) });
        } catch (err) {
          throw withContext(err, `${what} on host ${hostLabel}`, { host: hostLabel, container: id });
        }
      }
      return result;
    },

    async stat(id, paths, o) {
      const result: PathInfo[] = [];
      for (const target of paths) {
        const info = await statOne(id, target, o);
        if (info !== undefined) result.push(info);
      }
      return result;
    },

    async mkdir(id, paths, o) {
      const missing: DirectoryToCreate[] = [];
      for (const target of paths) {
        const info = await statOne(id, target, o);
        if (info === undefined) missing.push({ path: target, mode: o?.mode ?? 0o700 });
        else if (!info.isDirectory) {
          throw new BerthError(
            "CONFLICT",
            `creating directory "${target}" in container ${
              quote(shortId(id))
            } on host ${hostLabel}: it exists and is not a directory`,
            {
              host: hostLabel,
              container: id,
            },
          );
        }
      }
      if (missing.length === 0) return;
      const names = missing.map((d) => `"${d.path}"`).join(", ");
      await upload(id, packEntries(missing, []), `creating directories ${names} in container ${quote(shortId(id))}`, o);
    },

    async logs(id, o) {
      const res = await engine.request({
        method: "GET",
        path: `${path(id)}/logs`,
        query: logQuery(o),
        what: `reading the logs of container ${quote(shortId(id))}`,
        container: id,
        ...signalOption(o?.signal),
      });
      return demultiplexLogs(await res.bytes());
    },

    async followLogs(id, onOutput, o) {
      const res = await engine.request({
        method: "GET",
        path: `${path(id)}/logs`,
        query: { ...logQuery(o), follow: 1 },
        what: `following the logs of container ${quote(shortId(id))}`,
        container: id,
        // A quiet container sends nothing for as long as it likes.
        idleTimeoutMs: 2 ** 31 - 1,
        ...signalOption(o?.signal),
      });
      const frames = logFrames(onOutput);
      try {
        for await (const chunk of res.body) frames.push(chunk);
      } catch (err) {
        if (o?.signal?.aborted !== true) throw err;
      }
      frames.end();
    },

    close: () => http.close(),
  };
}

/** The part of the engine's inspect answer berth reads. */
interface InspectResponse {
  Id: string;
  Name: string;
  State: {
    Status: string;
    StartedAt?: string;
    ExitCode?: number;
    Health?: { Status: string; Log?: Array<{ ExitCode: number; Output: string }> | null } | null;
  };
  RestartCount?: number;
  Config: { Image: string; Labels: Record<string, string> | null; Env?: string[] | null };
  // The in-place settings, as create sends them; the engine may leave the policy's name empty and PidsLimit null.
  HostConfig?:
    & Partial<
      Pick<
        CreateBody["HostConfig"],
        "Memory" | "MemoryReservation" | "MemorySwap" | "NanoCpus" | "CpuShares" | "CpusetCpus"
      >
    >
    & { RestartPolicy?: { Name?: string; MaximumRetryCount?: number }; PidsLimit?: number | null };
}

/** The in-place settings as the engine reports them, in config form (engine defaults read as absent). */
function settingsFromInspect(host: NonNullable<InspectResponse["HostConfig"]>): Partial<ContainerConfig> {
  const settings: Partial<ContainerConfig> = {};
  const restart = host.RestartPolicy;
  // An empty name is the engine's "no"; berth's default is unless-stopped, so "no" is a real setting.
  const name = restart?.Name === undefined || restart.Name === "" ? "no" : restart.Name;
  const retries = restart?.MaximumRetryCount ?? 0;
  settings.restartPolicy = name === "on-failure" && retries > 0 ? `${name}:${retries}` : name;
  // 0, "" and null are the engine's "not set"; -1 and 0 mean no process limit.
  const set = <T>(value: T | null | undefined, unset: readonly unknown[]): T | undefined =>
    value === null || value === undefined || unset.includes(value) ? undefined : value;
  const fields: Record<string, unknown> = {
    memory: set(host.Memory, [0]),
    memoryReservation: set(host.MemoryReservation, [0]),
    memorySwap: set(host.MemorySwap, [0]),
    cpus: set(host.NanoCpus, [0]) === undefined ? undefined : (host.NanoCpus as number) / 1e9,
    cpuShares: set(host.CpuShares, [0]),
    cpusetCpus: set(host.CpusetCpus, [""]),
    pidsLimit: set(host.PidsLimit, [0, -1]),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
  }
  return settings;
}

/** The part of the engine's list answer berth reads. */
interface ListRow {
  Id: string;
  Names: string[] | null;
  Image: string;
  State: string;
  /** In words: `Up 2 minutes (unhealthy)`; the healthcheck verdict is only here in a listing. */
  Status?: string;
  Labels: Record<string, string> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

/** The engine's logs query: both streams, and what `options` asks for (since: seconds, as the engine takes it). */
function logQuery(o: LogOptions | undefined): Record<string, string | number> {
  return {
    stdout: 1,
    stderr: 1,
    tail: o?.tail ?? "all",
    ...(o?.since === undefined ? {} : { since: (o.since / 1000).toFixed(3) }),
    ...(o?.timestamps === true ? { timestamps: 1 } : {}),
  };
}

function observedFromInspect(info: InspectResponse): ObservedContainer {
  return {
    id: info.Id,
    status: info.State.Status,
    name: info.Name.replace(/^\//, ""),
    image: info.Config.Image,
    labels: info.Config.Labels ?? {},
    ...(info.HostConfig !== undefined && { settings: settingsFromInspect(info.HostConfig) }),
    env: info.Config.Env ?? [],
    ...(info.RestartCount !== undefined && { restartCount: info.RestartCount }),
    ...(info.State.StartedAt !== undefined && { startedAt: info.State.StartedAt }),
    ...(info.State.Status === "exited" && info.State.ExitCode !== undefined && { exitCode: info.State.ExitCode }),
    ...healthFromInspect(info.State.Health),
    readBack: { compared: IMPORT_COMPARED, config: configFromInspect(info as InspectedSettings) },
  };
}

/** The engine's healthcheck verdict and its last output, when the container has a healthcheck. */
function healthFromInspect(
  health: InspectResponse["State"]["Health"],
): Pick<ObservedContainer, "health" | "healthOutput"> {
  if (health === undefined || health === null || health.Status === "" || health.Status === "none") return {};
  const last = health.Log?.at(-1);
  return { health: health.Status, ...(last !== undefined && { healthOutput: last.Output.trim() }) };
}

function observedFromList(row: ListRow): ObservedContainer {
  return {
    id: row.Id,
    status: row.State,
    name: (row.Names?.[0] ?? "").replace(/^\//, ""),
    image: row.Image,
    labels: row.Labels ?? {},
    ...(row.NetworkSettings?.Networks != null && { networks: Object.keys(row.NetworkSettings.Networks).sort() }),
    ...healthFromStatus(row.Status),
  };
}

/** The healthcheck verdict in a listing's status words: `(healthy)`, `(unhealthy)`, `(health: starting)`. */
function healthFromStatus(status: string | undefined): Pick<ObservedContainer, "health"> {
  const verdict = /\((healthy|unhealthy|health: starting)\)$/.exec(status ?? "")?.[1];
  return verdict === undefined ? {} : { health: verdict === "health: starting" ? "starting" : verdict };
}

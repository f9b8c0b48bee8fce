/**
 * The body of `POST /containers/create` for a berth container config.
 *
 * @module
 */
import { containerFields, effectiveLogging } from "../../core/fields.ts";
import { healthcheckCommand, healthcheckTimes } from "../../core/gate-fields.ts";
import type { ContainerConfig, NetworkAttachment } from "../../core/model.ts";
import { sizeInBytes } from "../../core/rules.ts";
import type { CreateOptions } from "../runtime.ts";

/** The fields of the engine's create request that berth sets. */
export interface CreateBody {
  Image: string;
  /** The first network joined (the engine takes one at create before API 1.44; the rest are connected after). */
  NetworkingConfig?: { EndpointsConfig: Record<string, EndpointConfig> };
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Env?: string[];
  User?: string;
  StopSignal?: string;
  Hostname?: string;
  Domainname?: string;
  StopTimeout?: number;
  /** Times in nanoseconds. */
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: {
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    Mounts?: Array<{
      Type: "bind" | "volume" | "tmpfs";
      Source?: string;
      Target: string;
      ReadOnly?: boolean;
      BindOptions?: { Propagation: string };
      TmpfsOptions?: { SizeBytes?: number; Mode?: number };
    }>;
    Privileged?: boolean;
    NetworkMode?: string;
    PidMode?: string;
    IpcMode?: string;
    Init?: boolean;
    RestartPolicy: { Name: string; MaximumRetryCount?: number };
    Memory?: number;
    MemoryReservation?: number;
    MemorySwap?: number;
    NanoCpus?: number;
    CpuShares?: number;
    CpusetCpus?: string;
    PidsLimit?: number;
    ShmSize?: number;
    ExtraHosts?: string[];
    Dns?: string[];
    DnsSearch?: string[];
    CapAdd?: string[];
    CapDrop?: string[];
    SecurityOpt?: string[];
    ReadonlyRootfs?: boolean;
    Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
    Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
    Sysctls?: Record<string, string>;
    GroupAdd?: string[];
    Tmpfs?: Record<string, string>;
    LogConfig: { Type: string; Config: Record<string, string> };
  };
}

/** A container's settings on one network. */
export interface EndpointConfig {
  Aliases?: string[];
  IPAMConfig?: { IPv4Address: string };
}

/** The endpoint settings of one network a container joins. */
export function endpointConfig(network: NetworkAttachment): EndpointConfig {
  return {
    ...(network.aliases !== undefined && network.aliases.length > 0 && { Aliases: network.aliases }),
    ...(network.ipv4Address !== undefined && network.ipv4Address !== "" &&
      { IPAMConfig: { IPv4Address: network.ipv4Address } }),
  };
}

/** How one config field goes into the create request. */
type DockerField<V> = (value: V, body: CreateBody, config: ContainerConfig) => void;

/** Numeric 0 rather than "root" when only the group is set: images without /etc/passwd cannot resolve names. */
function setUser(body: CreateBody, config: ContainerConfig): void {
  body.User = config.group === undefined ? (config.user as string) : `${config.user ?? "0"}:${config.group}`;
}

/**
 * Every field of core/fields.ts, mapped to the Docker Engine API in one place
 * (the compiler, and tests/unit/fields.test.ts, fail when one is missing).
 */
export const DOCKER_MAPPING: { readonly [K in keyof ContainerConfig]-?: DockerField<NonNullable<ContainerConfig[K]>> } =
  {
    // The name goes in the request's query string (`?name=`), not in the body.
    name: () => {},
    image: (image, body) => void (body.Image = image),
    args: (args, body) => void (body.Cmd = args),
    entrypoint: (entrypoint, body) => void (body.Entrypoint = entrypoint),
    workingDir: (dir, body) => void (body.WorkingDir = dir),
    ports: (ports, body) => {
      if (ports.length === 0) return;
      body.ExposedPorts = {};
      const bindings: NonNullable<CreateBody["HostConfig"]["PortBindings"]> = {};
      for (const port of ports) {
        const key = `${port.port}/${port.protocol ?? "tcp"}`;
        body.ExposedPorts[key] = {};
        (bindings[key] ??= []).push({ HostIp: port.ip ?? "", HostPort: String(port.port) });
      }
      body.HostConfig.PortBindings = bindings;
    },
    mounts: (mounts, body) => {
      if (mounts.length === 0) return;
      body.HostConfig.Mounts = mounts.map((mount) => {
        const common = { Target: mount.target, ...(mount.readOnly === true && { ReadOnly: true }) };
        if (mount.type === "tmpfs") {
          const size = mount.size === undefined ? undefined : sizeInBytes(mount.size);
          const options = {
            ...(size !== undefined && { SizeBytes: size }),
            ...(mount.mode !== undefined && { Mode: parseInt(mount.mode, 8) }),
          };
          return {
            Type: "tmpfs" as const,
            ...common,
            ...(Object.keys(options).length > 0 && { TmpfsOptions: options }),
          };
        }
        const source = mount.source as string;
        // The volume exists by now: the runtime creates it, with its driver and options, before the container.
        if (mount.type === "volume") return { Type: "volume" as const, Source: source, ...common };
        return {
          Type: "bind" as const,
          // A trailing "/" marks a directory mount for berth; the engine wants the plain path.
          Source: source.length > 1 ? source.replace(/\/+$/, "") : source,
          ...common,
          ...(mount.propagation !== undefined && { BindOptions: { Propagation: mount.propagation } }),
        };
      });
    },
    privileged: (privileged, body) => void (body.HostConfig.Privileged = privileged),
    networkMode: (mode, body) => void (body.HostConfig.NetworkMode = mode),
    networks: (networks, body) => {
      const first = networks[0];
      if (first === undefined) return;
      body.HostConfig.NetworkMode = first.name;
      body.NetworkingConfig = { EndpointsConfig: { [first.name]: endpointConfig(first) } };
    },
    pidMode: (mode, body) => void (body.HostConfig.PidMode = mode),
    ipcMode: (mode, body) => void (body.HostConfig.IpcMode = mode),
    user: (_user, body, config) => setUser(body, config),
    group: (_group, body, config) => setUser(body, config),
    env: (env, body) => {
      body.Env = Object.entries(env)
        .map(([key, value]) => `${key}=${value}`)
        .sort();
    },
    init: (init, body) => void (body.HostConfig.Init = init),
    restartPolicy: (policy, body) => {
      const [name, retries] = policy.split(":");
      body.HostConfig.RestartPolicy = {
        Name: name as string,
        ...(retries !== undefined && { MaximumRetryCount: Number(retries) }),
      };
    },
    stopSignal: (signal, body) => void (body.StopSignal = signal),
    stopTimeout: (seconds, body) => void (body.StopTimeout = seconds),
    memory: (size, body) => void (body.HostConfig.Memory = bytes(size)),
    memoryReservation: (size, body) => void (body.HostConfig.MemoryReservation = bytes(size)),
    memorySwap: (size, body) => void (body.HostConfig.MemorySwap = bytes(size)),
    cpus: (cpus, body) => void (body.HostConfig.NanoCpus = Math.round(cpus * 1e9)),
    cpuShares: (shares, body) => void (body.HostConfig.CpuShares = shares),
    cpusetCpus: (set, body) => void (body.HostConfig.CpusetCpus = set),
    pidsLimit: (limit, body) => void (body.HostConfig.PidsLimit = limit),
    shmSize: (size, body) => void (body.HostConfig.ShmSize = bytes(size)),
    // berth's own labels win; validation refuses them as user keys anyway.
    labels: (labels, body) => void (body.Labels = { ...labels, ...body.Labels }),
    hostname: (name, body) => void (body.Hostname = name),
    domainname: (name, body) => void (body.Domainname = name),
    extraHosts: (hosts, body) => void (body.HostConfig.ExtraHosts = hosts),
    dns: (servers, body) => void (body.HostConfig.Dns = servers),
    dnsSearch: (domains, body) => void (body.HostConfig.DnsSearch = domains),
    capAdd: (caps, body) => void (body.HostConfig.CapAdd = caps),
    capDrop: (caps, body) => void (body.HostConfig.CapDrop = caps),
    securityOpt: (opts, body) => void (body.HostConfig.SecurityOpt = opts),
    readOnly: (readOnly, body) => void (body.HostConfig.ReadonlyRootfs = readOnly),
    devices: (devices, body) => {
      body.HostConfig.Devices = devices.map((d) => ({
        PathOnHost: d.source,
        PathInContainer: d.target ?? d.source,
        CgroupPermissions: d.permissions ?? "rwm",
      }));
    },
    ulimits: (limits, body) => {
      body.HostConfig.Ulimits = Object.entries(limits).map(([Name, l]) => ({ Name, Soft: l.soft, Hard: l.hard }));
    },
    sysctls: (sysctls, body) => void (body.HostConfig.Sysctls = sysctls),
    groupAdd: (groups, body) => void (body.HostConfig.GroupAdd = groups),
    tmpfs: (mounts, body) => void (body.HostConfig.Tmpfs = mounts),
    logging: (logging, body) => void (body.HostConfig.LogConfig = logConfig(logging)),
    healthcheck: (check, body) => {
      const t = healthcheckTimes(check);
      const ns = (ms: number) => ms * 1e6;
      body.Healthcheck = {
        Test: healthcheckCommand(check.test),
        Interval: ns(t.intervalMs),
        Timeout: ns(t.timeoutMs),
        Retries: t.retries,
        StartPeriod: ns(t.startPeriodMs),
      };
    },
    // berth's own: what apply waits for (engine/gate.ts), nothing the engine holds.
    gate: () => {},
    // How apply gets the image (engine/apply-pull.ts), not part of the container.
    pull: () => {},
  };

function logConfig(logging: ContainerConfig["logging"]): CreateBody["HostConfig"]["LogConfig"] {
  const { driver, options } = effectiveLogging(logging);
  return { Type: driver, Config: options };
}

/** A validated size in bytes (-1: unlimited swap). */
function bytes(size: number | string): number {
  return size === -1 ? -1 : sizeInBytes(size) as number;
}

/** The settings of `HostConfig` that `POST /containers/{id}/update` changes (see `inPlace` in core/fields.ts). */
const UPDATABLE = [
  "RestartPolicy",
  "Memory",
  "MemoryReservation",
  "MemorySwap",
  "NanoCpus",
  "CpuShares",
  "CpusetCpus",
  "PidsLimit",
] as const;

/** The body of `POST /containers/{id}/update`: the in-place settings of `config`, the defaults included. */
export function updateBody(config: ContainerConfig): Partial<CreateBody["HostConfig"]> {
  const host = createBody(config, {}).HostConfig;
  // The engine refuses a memory limit above the swap limit in place; at create it sets swap to twice the memory.
  if (host.Memory !== undefined && host.MemorySwap === undefined) host.MemorySwap = 2 * host.Memory;
  return Object.fromEntries(UPDATABLE.filter((key) => host[key] !== undefined).map((key) => [key, host[key]]));
}

/**
 * Builds the create request body.
 *
 * @param config The container config.
 * @param options Labels, restart policy, whether every mount is read-only.
 * @returns The JSON body.
 *
 * @example
 * ```ts
 * import { createBody } from "./create-body.ts";
 * const body = createBody({ name: "web", image: "nginx", ports: [{ port: 80 }], env: { B: "2", A: "1" } }, {});
 * if (body.Env?.join() !== "A=1,B=2" || body.HostConfig.PortBindings?.["80/tcp"]?.[0]?.HostPort !== "80") throw new Error("wrong");
 * ```
 */
export function createBody(
  config: ContainerConfig,
  options: Pick<CreateOptions, "labels" | "restartPolicy" | "readOnlyMounts">,
): CreateBody {
  // Rotated json-file logs unless the config says otherwise (the logging mapping below).
  const host: CreateBody["HostConfig"] = {
    RestartPolicy: { Name: options.restartPolicy ?? "unless-stopped" },
    LogConfig: logConfig(undefined),
  };
  const body: CreateBody = { Image: config.image, Labels: { ...options.labels }, HostConfig: host };
  for (const [key] of containerFields()) {
    const value = config[key];
    if (value !== undefined) (DOCKER_MAPPING[key] as DockerField<unknown>)(value, body, config);
  }
  if (options.readOnlyMounts === true) { for (const mount of host.Mounts ?? []) mount.ReadOnly = true; }
  return body;
}

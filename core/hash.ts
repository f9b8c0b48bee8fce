/**
 * Canonical forms and hashes: semantically equal container configs hash
 * equal, so only real changes recreate containers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  type ContainerConfig,
  DEFAULT_CRI_ADDRESS,
  DEFAULT_DOCKER_HOST,
  type Mount,
  type PortMap,
  type RuntimeConfig,
} from "./model.ts";

const DOCKER_HUB_PREFIXES = ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"];

/**
 * The short form Docker itself shows for an image: `docker.io/library/busybox:latest` -> `busybox`.
 *
 * @example
 * ```ts
 * import { canonicalImage } from "./hash.ts";
 * if (canonicalImage("docker.io/library/busybox:latest") !== "busybox") throw new Error("wrong");
 * ```
 */
export function canonicalImage(image: string): string {
  let short = image;
  const prefix = DOCKER_HUB_PREFIXES.find((p) => short.startsWith(p));
  if (prefix !== undefined) short = short.slice(prefix.length);
  if (!short.includes("@") && short.endsWith(":latest")) short = short.slice(0, -":latest".length);
  return short;
}

function canonicalPort(port: PortMap): PortMap {
  return {
    port: port.port,
    ...(port.ip === undefined || port.ip === "" ? {} : { ip: port.ip }),
    ...(port.protocol === undefined || port.protocol === "tcp" || (port.protocol as string) === ""
      ? {}
      : { protocol: port.protocol }),
  };
}

function canonicalMount(mount: Mount): Mount {
  const propagation = mount.propagation;
  return {
    source: mount.source,
    target: mount.target,
    ...(propagation === undefined || propagation === "" || propagation === "rprivate" ? {} : { propagation }),
  };
}

function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

function nonEmpty(value: string | undefined, ...defaults: string[]): value is string {
  return value !== undefined && value !== "" && !defaults.includes(value);
}

/**
 * The normalised form of a container config used by {@link configHash} and
 * by diffs: fields in a fixed order, defaults dropped (empty lists and maps,
 * `protocol: tcp`, `propagation: rprivate`, `privileged: false`,
 * `init: false`, empty strings, `networkMode: default`), ports and mounts
 * sorted, env sorted by name, Docker Hub images in their short form.
 *
 * @example
 * ```ts
 * import { canonicalConfig } from "./hash.ts";
 * const c = canonicalConfig({ name: "a", image: "busybox:latest", args: [], privileged: false, ports: [{ port: 80, protocol: "tcp" }] });
 * if (JSON.stringify(c) !== '{"name":"a","image":"busybox","ports":[{"port":80}]}') throw new Error(JSON.stringify(c));
 * ```
 */
export function canonicalConfig(config: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { name: config.name, image: canonicalImage(config.image) };
  if (config.args !== undefined && config.args.length > 0) out.args = [...config.args];
  if (config.entrypoint !== undefined && config.entrypoint.length > 0) out.entrypoint = [...config.entrypoint];
  if (config.ports !== undefined && config.ports.length > 0) {
    out.ports = config.ports.map(canonicalPort).sort(
      byKey((p) => JSON.stringify([p.port, p.protocol ?? "", p.ip ?? ""])),
    );
  }
  if (config.mounts !== undefined && config.mounts.length > 0) {
    out.mounts = config.mounts.map(canonicalMount).sort(byKey((m) => JSON.stringify([m.target, m.source])));
  }
  if (config.privileged === true) out.privileged = true;
  if (nonEmpty(config.networkMode, "default")) out.networkMode = config.networkMode;
  if (nonEmpty(config.pidMode)) out.pidMode = config.pidMode;
  if (nonEmpty(config.ipcMode)) out.ipcMode = config.ipcMode;
  if (nonEmpty(config.user)) out.user = config.user;
  if (nonEmpty(config.group)) out.group = config.group;
  if (config.env !== undefined && Object.keys(config.env).length > 0) {
    out.env = Object.fromEntries(Object.entries(config.env).sort(byKey(([k]) => k)));
  }
  if (config.init === true) out.init = true;
  return out;
}

/**
 * Which runtime, at which address, a runtime config points at (defaults
 * filled in): what the container runs on, without how berth authenticates.
 */
export function runtimeIdentity(runtime: RuntimeConfig | undefined): RuntimeConfig {
  if (runtime?.kubelet !== undefined) {
    const address = runtime.kubelet.address;
    return { kubelet: { address: nonEmpty(address) ? address : DEFAULT_CRI_ADDRESS } };
  }
  const host = runtime?.docker?.host;
  return { docker: { host: nonEmpty(host) ? host : DEFAULT_DOCKER_HOST } };
}

/** JSON with object keys sorted at every level (undefined values dropped). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(byKey(([k]) => k));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 (hex) of the canonical config plus the engine address it runs on.
 * Secrets (`registryAuth`) and TLS file paths are how berth talks to the
 * engine, not what the container is, so they are left out.
 *
 * @param config The container config.
 * @param runtime The runtime config; the default Docker engine when omitted.
 * @returns 64 hex characters.
 *
 * @example
 * ```ts
 * import { configHash } from "./hash.ts";
 * const a = configHash({ name: "a", image: "busybox", env: { X: "1", Y: "2" } });
 * const b = configHash({ env: { Y: "2", X: "1" }, image: "busybox:latest", name: "a", args: [] });
 * if (a !== b) throw new Error("should be equal");
 * ```
 */
export function configHash(config: ContainerConfig, runtime?: RuntimeConfig): string {
  const text = canonicalJson({ config: canonicalConfig(config), runtime: runtimeIdentity(runtime) });
  return createHash("sha256").update(text).digest("hex");
}

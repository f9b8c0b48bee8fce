/**
 * Canonical forms and hashes: semantically equal container configs hash
 * equal, so only real changes recreate containers.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { byKey, containerFields } from "./fields.ts";
import { type ContainerConfig, DEFAULT_CRI_ADDRESS, DEFAULT_DOCKER_HOST, type RuntimeConfig } from "./model.ts";

export { canonicalImage } from "./fields.ts";

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}

/**
 * The normalised form of a container config used by {@link configHash} and
 * by diffs: the identity fields of core/fields.ts in declared order, each in
 * its canonical form (defaults dropped: empty lists and maps, `protocol: tcp`,
 * `propagation: rprivate`, `privileged: false`, `init: false`, empty strings,
 * `networkMode: default`; ports and mounts sorted, env sorted by name, Docker
 * Hub images in their short form).
 *
 * @example
 * ```ts
 * import { canonicalConfig } from "./hash.ts";
 * const c = canonicalConfig({ name: "a", image: "busybox:latest", args: [], privileged: false, ports: [{ port: 80, protocol: "tcp" }] });
 * if (JSON.stringify(c) !== '{"name":"a","image":"busybox","ports":[{"port":80}]}') throw new Error(JSON.stringify(c));
 * ```
 */
export function canonicalConfig(config: ContainerConfig): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, field] of containerFields()) {
    const value = config[key];
    const canonical = value === undefined || !field.identity ? undefined : field.canonical(value);
    if (canonical !== undefined) out[key] = canonical;
  }
  return out as unknown as ContainerConfig;
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

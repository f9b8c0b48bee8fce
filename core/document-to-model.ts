/**
 * Copies checked documents into the model: fresh objects, host spellings
 * normalised (`direct`/`ssh` -> `directConfig`/`sshConfig`), empty YAML
 * values (`direct:`) as `{}`, flexkube's extra status fields dropped.
 * Only call these on values that passed validation.
 *
 * @module
 */
import type { ContainersState, Host, HostConfiguredContainer, RuntimeConfig, SSHConfig } from "./model.ts";
import { isMapping, own } from "./shape.ts";

/** A deep copy of plain data, dropping `undefined` fields; safe for keys such as `__proto__`. */
export function copyData<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyData(item)) as T;
  if (!isMapping(value)) return value;
  // A loop, not entries/fromEntries: this copies every container of a config, and the pairs were most of its cost.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyData(value[key]);
    if (item === undefined) continue;
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    } else out[key] = item;
  }
  return out as T;
}

type Raw = Record<string, unknown>;

function runtimeFromDocument(raw: Raw): RuntimeConfig {
  const kubelet = own(raw, "kubelet");
  if (kubelet !== undefined) {
    return { kubelet: kubelet === null ? {} : copyData(kubelet as NonNullable<RuntimeConfig["kubelet"]>) };
  }
  const docker = own(raw, "docker");
  return { docker: docker === null ? {} : copyData(docker as NonNullable<RuntimeConfig["docker"]>) };
}

/**
 * A checked host as the model: berth's spelling (`directConfig`/`sshConfig`)
 * and flexkube's (`direct`/`ssh`) both become berth's. The one place host
 * spellings are normalised.
 */
export function hostFromDocument(raw: unknown): Host {
  const ssh = own(raw as Raw, "sshConfig") ?? own(raw as Raw, "ssh");
  return ssh === undefined ? { directConfig: {} } : { sshConfig: copyData(ssh as SSHConfig) };
}

/** One checked HCC document as the model. */
export function hccFromDocument(raw: Raw): HostConfiguredContainer {
  const container = own(raw, "container") as Raw;
  const status = own(container, "status") as Raw | undefined;
  const runtime = own(container, "runtime") as Raw | undefined;
  const configFiles = own(raw, "configFiles");
  return {
    container: {
      config: copyData(own(container, "config") as HostConfiguredContainer["container"]["config"]),
      ...(status === undefined
        ? {}
        : { status: { id: own(status, "id") as string, status: own(status, "status") as string } }),
      ...(runtime === undefined ? {} : { runtime: runtimeFromDocument(runtime) }),
      ...copyOptional(container, "image"),
      ...copyOptional(container, "previous"),
    },
    host: hostFromDocument(own(raw, "host")),
    ...(configFiles === undefined ? {} : { configFiles: copyData(configFiles as Record<string, string>) }),
  };
}

/** `{ key: copy }` when the checked document has `key`, else nothing. */
function copyOptional(raw: Raw, key: "image" | "previous"): Partial<HostConfiguredContainer["container"]> {
  const value = own(raw, key);
  return value === undefined || value === null ? {} : { [key]: copyData(value) };
}

/** A checked map of HCC documents as the model. */
export function containersStateFromDocument(raw: unknown): ContainersState {
  if (!isMapping(raw)) return {};
  return Object.fromEntries(Object.entries(raw).map(([name, hcc]) => [name, hccFromDocument(hcc as Raw)]));
}

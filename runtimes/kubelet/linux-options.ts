/**
 * The Linux container options CRI v1 can express, from berth's field values:
 * resource limits (LinuxContainerResources, also what UpdateContainerResources
 * sends), capabilities, security options, supplemental groups, devices and
 * sandbox sysctls. Each function returns why a value cannot be honoured, or
 * the CRI form of it; pod-spec.ts's CRI_MAPPING calls them.
 *
 * @module
 */
import { sizeInBytes } from "../../core/rules.ts";
import type { ContainerConfig, Device } from "../../core/model.ts";
import type { CriDevice, LinuxContainerResources, SecurityProfile } from "./cri-client.ts";

/** The CFS period berth sets with `cpus` (the kernel's and Docker's default, 100 ms). */
export const CPU_PERIOD_US = 100_000;

/**
 * The resource limits of `config` as CRI takes them; undefined when it sets
 * none. `cpus` becomes a CFS quota over {@link CPU_PERIOD_US}, as `docker
 * --cpus` does.
 *
 * @example
 * ```ts
 * import { criResources } from "./linux-options.ts";
 * const r = criResources({ name: "a", image: "busybox", memory: "64m", cpus: 0.5 });
 * if (r?.memoryLimitInBytes !== 64 * 1024 * 1024 || r.cpuQuota !== 50_000 || r.cpuPeriod !== 100_000) throw new Error("wrong");
 * ```
 */
export function criResources(config: ContainerConfig): LinuxContainerResources | undefined {
  const resources: LinuxContainerResources = {};
  if (config.memory !== undefined) resources.memoryLimitInBytes = sizeInBytes(config.memory) as number;
  if (config.memorySwap !== undefined) {
    resources.memorySwapLimitInBytes = config.memorySwap === -1 ? -1 : sizeInBytes(config.memorySwap) as number;
  }
  if (config.cpus !== undefined) {
    resources.cpuPeriod = CPU_PERIOD_US;
    resources.cpuQuota = Math.round(config.cpus * CPU_PERIOD_US);
  }
  if (config.cpuShares !== undefined) resources.cpuShares = config.cpuShares;
  if (config.cpusetCpus !== undefined && config.cpusetCpus !== "") resources.cpusetCpus = config.cpusetCpus;
  return Object.keys(resources).length === 0 ? undefined : resources;
}

/**
 * The in-place settings a container runs with, in config form, from the
 * limits the runtime reports (the inverse of {@link criResources}): what a
 * plan compares for drift. A swap limit equal to the memory limit is what
 * containerd sets when none is given, and reads as not set.
 *
 * @example
 * ```ts
 * import { settingsFromResources } from "./linux-options.ts";
 * const s = settingsFromResources({ memoryLimitInBytes: 1024, memorySwapLimitInBytes: 1024, cpuQuota: 50_000, cpuPeriod: 100_000 });
 * if (s.memory !== 1024 || s.memorySwap !== undefined || s.cpus !== 0.5) throw new Error("wrong");
 * ```
 */
export function settingsFromResources(resources: LinuxContainerResources): Partial<ContainerConfig> {
  const { memoryLimitInBytes: memory, memorySwapLimitInBytes: swap, cpuQuota, cpuPeriod } = resources;
  return {
    ...(memory !== undefined && memory > 0 && { memory }),
    ...(swap !== undefined && swap !== 0 && swap !== memory && { memorySwap: swap }),
    ...(cpuQuota !== undefined && cpuQuota > 0 && cpuPeriod !== undefined && cpuPeriod > 0 &&
      { cpus: cpuQuota / cpuPeriod }),
    ...(resources.cpuShares !== undefined && resources.cpuShares > 0 && { cpuShares: resources.cpuShares }),
    ...(resources.cpusetCpus !== undefined && resources.cpusetCpus !== "" && { cpusetCpus: resources.cpusetCpus }),
  };
}

/** Capability names as CRI takes them: without the `CAP_` prefix (the runtime adds it), `ALL` as it is. */
export function criCapabilities(caps: string[]): string[] {
  return [...new Set(caps.map((c) => c.toUpperCase().replace(/^CAP_/, "")))];
}

/** The part of the security context `securityOpt` sets. */
export interface SecurityOptions {
  noNewPrivs?: boolean;
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

/**
 * Why CRI cannot honour these security options (undefined when it can): it
 * takes no-new-privileges, `seccomp=unconfined` or a profile file on the host
 * (an absolute path), and `apparmor=unconfined` or a loaded profile's name.
 */
export function refusedSecurityOptions(opts: string[]): string | undefined {
  const refused = opts.filter((opt) => securityOption(opt) === undefined);
  return refused.length === 0
    ? undefined
    : `securityOpt ${
      refused.map((o) => `"${o}"`).join(", ")
    }: CRI takes only no-new-privileges, seccomp=unconfined, seccomp=/absolute/profile.json (a file on the host), apparmor=unconfined and apparmor=PROFILE; remove the others, or run the container on a Docker host`;
}

/** The security context fields of `opts` (call {@link refusedSecurityOptions} first). */
export function criSecurityOptions(opts: string[]): SecurityOptions {
  const out: SecurityOptions = {};
  for (const opt of opts) Object.assign(out, securityOption(opt));
  return out;
}

function securityOption(opt: string): SecurityOptions | undefined {
  const [key = "", value] = opt.split(/[=:](.*)/s);
  if (key === "no-new-privileges") return value === "false" ? {} : { noNewPrivs: true };
  if (key !== "seccomp" && key !== "apparmor") return undefined;
  if (value === "unconfined") return { [key]: { profileType: "Unconfined" } };
  if (value === undefined || value === "" || (key === "seccomp" && !value.startsWith("/"))) return undefined;
  return { [key]: { profileType: "Localhost", localhostRef: value } };
}

/** Why CRI cannot take these groups: it takes group ids only. */
export function refusedGroups(groups: string[]): string | undefined {
  const names = groups.filter((g) => !/^\d+$/.test(g));
  return names.length === 0
    ? undefined
    : `groupAdd ${
      names.map((g) => `"${g}"`).join(", ")
    }: CRI takes group ids only (supplemental_groups): write the numeric id`;
}

/** Devices as CRI takes them: the host path where no target is given, `rwm` where no permissions are. */
export function criDevices(devices: Device[]): CriDevice[] {
  return devices.map((d) => ({
    hostPath: d.source,
    containerPath: d.target === undefined || d.target === "" ? d.source : d.target,
    permissions: d.permissions === undefined || d.permissions === "" ? "rwm" : d.permissions,
  }));
}

/**
 * Why CRI cannot set these sysctls in `config`'s sandbox: the sandbox always
 * uses the host network (a net.* value would be the host's), and the IPC ones
 * would be the host's with `ipcMode: host`.
 */
export function refusedSysctls(sysctls: Record<string, string>, config: ContainerConfig): string | undefined {
  const problems = Object.keys(sysctls).flatMap((key) =>
    key.startsWith("net.")
      ? [`sysctl "${key}": the container uses the host network, so it would be the host's: remove it`]
      : config.ipcMode === "host"
      ? [`sysctl "${key}": with ipcMode "host" it would be the host's: remove it, or the ipcMode`]
      : []
  );
  return problems.length === 0 ? undefined : problems.join("; ");
}

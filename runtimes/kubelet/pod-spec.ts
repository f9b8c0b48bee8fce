/**
 * A berth container config as a CRI pod sandbox holding one container, the
 * way a kubelet runs a host-network pod. Options CRI cannot honour without
 * CNI or at all are refused before anything is created.
 *
 * @module
 */
import { BerthError } from "../../core/errors.ts";
import type { ContainerConfig } from "../../core/model.ts";
import type {
  ContainerConfig as CriContainerConfig,
  MountPropagation,
  NamespaceMode,
  PodSandboxConfig,
} from "./cri-client.ts";

/** The CRI namespace (pod namespace) of every berth sandbox. */
export const POD_NAMESPACE = "berth";
/** Sandbox annotation holding the berth config, to re-create the container on start and to report the image name. */
export const CONFIG_ANNOTATION = "berth.config";
/** Host directory of the sandboxes' log directories (the runtime creates them). */
export const LOG_ROOT = "/var/log/berth";

/** What RunPodSandbox and CreateContainer receive. */
export interface PodSpec {
  sandbox: PodSandboxConfig;
  container: CriContainerConfig;
}

const PROPAGATION: Record<string, MountPropagation> = {
  private: "PROPAGATION_PRIVATE",
  rprivate: "PROPAGATION_PRIVATE",
  slave: "PROPAGATION_HOST_TO_CONTAINER",
  rslave: "PROPAGATION_HOST_TO_CONTAINER",
  shared: "PROPAGATION_BIDIRECTIONAL",
  rshared: "PROPAGATION_BIDIRECTIONAL",
};

/**
 * Checks that CRI can run `config` as berth asks, without CNI.
 *
 * @throws {BerthError} VALIDATION naming every option that cannot be honoured.
 */
export function checkSupported(config: ContainerConfig): void {
  const problems: string[] = [];
  if (config.networkMode !== undefined && config.networkMode !== "host") {
    problems.push(`networkMode "${config.networkMode}" needs a pod network (CNI); only "host" is supported`);
  }
  if (config.ports !== undefined && config.ports.length > 0) {
    problems.push(
      "ports need a pod network (CNI); the container uses the host network, so its ports are the host's: remove `ports`",
    );
  }
  if (config.init === true) {
    problems.push("CRI has no init option: remove `init` and use an entrypoint that exits on SIGTERM");
  }
  if (namespaceMode(config.pidMode, "CONTAINER") === undefined) {
    problems.push(`pidMode "${config.pidMode}" is not supported (only "host")`);
  }
  if (namespaceMode(config.ipcMode, "POD") === undefined) {
    problems.push(`ipcMode "${config.ipcMode}" is not supported (only "host", "private", "shareable")`);
  }
  if (config.group !== undefined && !/^\d+$/.test(config.group)) {
    problems.push(`group "${config.group}" must be numeric: CRI takes a group id only`);
  }
  for (const mount of config.mounts ?? []) {
    if (mount.propagation !== undefined && PROPAGATION[mount.propagation] === undefined) {
      problems.push(
        `mount "${mount.target}": propagation "${mount.propagation}" is not one of ${
          Object.keys(PROPAGATION).join(", ")
        }`,
      );
    }
  }
  if (problems.length > 0) {
    throw new BerthError("VALIDATION", `container "${config.name}" cannot run through CRI: ${problems.join("; ")}`, {
      container: config.name,
    });
  }
}

/**
 * Builds the sandbox and container configs (call {@link checkSupported} first).
 *
 * @param config The berth config; `image` is the image actually run.
 * @param labels Labels for both the sandbox and the container.
 * @param readOnlyMounts Every mount read-only (berth's file helper when it only reads).
 *
 * @example
 * ```ts
 * import { podSpec } from "./pod-spec.ts";
 * const spec = podSpec({ name: "web", image: "busybox", user: "1000", pidMode: "host" }, { "berth.managed": "true" });
 * if (spec.sandbox.linux?.securityContext?.namespaceOptions?.network !== "NODE") throw new Error("host network expected");
 * if (spec.container.linux?.securityContext?.runAsUser?.value !== 1000) throw new Error("uid expected");
 * ```
 */
export function podSpec(config: ContainerConfig, labels: Record<string, string>, readOnlyMounts = false): PodSpec {
  const namespaces = {
    network: "NODE" as const,
    pid: namespaceMode(config.pidMode, "CONTAINER") as NamespaceMode,
    ipc: namespaceMode(config.ipcMode, "POD") as NamespaceMode,
  };
  const privileged = config.privileged === true;
  const sandbox: PodSandboxConfig = {
    metadata: { name: config.name, uid: config.name, namespace: POD_NAMESPACE, attempt: 0 },
    // A host-network sandbox must leave the hostname empty.
    hostname: "",
    logDirectory: `${LOG_ROOT}/${config.name}`,
    labels: { ...labels },
    annotations: { [CONFIG_ANNOTATION]: JSON.stringify(config) },
    linux: { securityContext: { namespaceOptions: namespaces, privileged } },
  };
  const security: NonNullable<NonNullable<CriContainerConfig["linux"]>["securityContext"]> = {
    privileged,
    namespaceOptions: namespaces,
  };
  if (config.user !== undefined && !/^\d+$/.test(config.user)) security.runAsUsername = config.user;
  else if (config.user !== undefined || config.group !== undefined) {
    security.runAsUser = { value: Number(config.user ?? "0") };
  }
  if (config.group !== undefined) security.runAsGroup = { value: Number(config.group) };
  const container: CriContainerConfig = {
    metadata: { name: config.name, attempt: 0 },
    image: { image: config.image },
    labels: { ...labels },
    linux: { securityContext: security },
  };
  if (config.entrypoint !== undefined) container.command = config.entrypoint;
  if (config.args !== undefined) container.args = config.args;
  if (config.env !== undefined) {
    container.envs = Object.entries(config.env)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value }));
  }
  if (config.mounts !== undefined && config.mounts.length > 0) {
    container.mounts = config.mounts.map((m) => ({
      // A trailing "/" marks a directory mount for berth; the runtime wants the plain path.
      hostPath: m.source.length > 1 ? m.source.replace(/\/+$/, "") : m.source,
      containerPath: m.target,
      ...(readOnlyMounts && { readonly: true }),
      propagation: PROPAGATION[m.propagation ?? "rprivate"] as MountPropagation,
    }));
  }
  return { sandbox, container };
}

/**
 * The container's log file, relative to the sandbox's log directory: one per
 * sandbox, so the output of a container started again (a new CRI container
 * in the same sandbox) follows the earlier output, as on Docker.
 */
export function containerLogPath(sandboxId: string): string {
  return `${sandboxId}.log`;
}

/** Docker-style namespace mode -> CRI mode; undefined when unsupported. */
function namespaceMode(mode: string | undefined, isolated: NamespaceMode): NamespaceMode | undefined {
  if (mode === undefined || mode === "" || mode === "private" || mode === "shareable") return isolated;
  return mode === "host" ? "NODE" : undefined;
}

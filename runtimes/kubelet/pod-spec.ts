/**
 * A berth container config as a CRI pod sandbox holding one container, the
 * way a kubelet runs a host-network pod. Options CRI cannot honour without
 * CNI or at all are refused before anything is created.
 *
 * @module
 */
import { BerthError } from "../../core/errors.ts";
import { containerFields } from "../../core/fields.ts";
import { sizeInBytes } from "../../core/rules.ts";
import type { ContainerConfig } from "../../core/model.ts";
import type {
  ContainerConfig as CriContainerConfig,
  MountPropagation,
  NamespaceMode,
  NamespaceOption,
  PodSandboxConfig,
} from "./cri-client.ts";
import {
  CPU_PERIOD_US,
  criCapabilities,
  criDevices,
  criResources,
  criSecurityOptions,
  refusedGroups,
  refusedSecurityOptions,
  refusedSysctls,
} from "./linux-options.ts";
import { rotationOf } from "./log-rotation.ts";

/** The CRI namespace (pod namespace) of every berth sandbox. */
export const POD_NAMESPACE = "berth";
/**
 * Sandbox annotation holding the berth config, to re-create the container on
 * start and to report the image name. Env values are left out (any may be a
 * secret, and annotations are readable by anyone with access to the runtime):
 * only their names, as `envNames`; a re-creation takes the values from the
 * container it replaces.
 */
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

/** How one config field goes into the pod spec: mapped, refused (a problem naming the fix), or both by value. */
interface CriField<V> {
  /** Why CRI cannot honour this value; undefined when it can. */
  refuse?: (value: V, config: ContainerConfig) => string | undefined;
  map?: (value: V, spec: PodSpec, config: ContainerConfig) => void;
}

type SecurityContext = NonNullable<NonNullable<CriContainerConfig["linux"]>["securityContext"]>;

function security(spec: PodSpec): SecurityContext {
  return (spec.container.linux as { securityContext: SecurityContext }).securityContext;
}

function linux(spec: PodSpec): NonNullable<CriContainerConfig["linux"]> {
  return spec.container.linux as NonNullable<CriContainerConfig["linux"]>;
}

/** Every resource field sets the whole LinuxContainerResources from the config (the same each time). */
function setResources(_value: unknown, spec: PodSpec, config: ContainerConfig): void {
  const resources = criResources(config);
  if (resources !== undefined) linux(spec).resources = resources;
}

function namespaces(spec: PodSpec): NamespaceOption {
  return security(spec).namespaceOptions as NamespaceOption;
}

/** runAsUsername for a user name, else numeric ids (0 when only the group is set). */
function setRunAs(spec: PodSpec, config: ContainerConfig): void {
  const context = security(spec);
  if (config.user !== undefined && !/^\d+$/.test(config.user)) context.runAsUsername = config.user;
  else context.runAsUser = { value: Number(config.user ?? "0") };
  if (config.group !== undefined) context.runAsGroup = { value: Number(config.group) };
}

/**
 * Every field of core/fields.ts, mapped to CRI or refused, in one place (the
 * compiler, and tests/unit/fields.test.ts, fail when one is missing).
 */
export const CRI_MAPPING: { readonly [K in keyof ContainerConfig]-?: CriField<NonNullable<ContainerConfig[K]>> } = {
  // Both are set with the sandbox's and container's metadata, which need them.
  name: { map: () => {} },
  image: { map: () => {} },
  args: { map: (args, spec) => void (spec.container.args = args) },
  entrypoint: { map: (entrypoint, spec) => void (spec.container.command = entrypoint) },
  workingDir: { map: (dir, spec) => void (spec.container.workingDir = dir) },
  ports: {
    refuse: (ports) =>
      ports.length === 0
        ? undefined
        : "ports need a pod network (CNI); the container uses the host network, so its ports are the host's: remove `ports`",
  },
  mounts: {
    refuse: (mounts) => {
      const problems = mounts.flatMap((m) =>
        m.type === "tmpfs" || m.type === "volume"
          ? [`mount "${m.target}": CRI has no ${m.type} mount; berth sends it to Docker only: remove it on this host`]
          : m.propagation !== undefined && PROPAGATION[m.propagation] === undefined
          ? [`mount "${m.target}": propagation "${m.propagation}" is not one of ${Object.keys(PROPAGATION).join(", ")}`]
          : []
      );
      return problems.length === 0 ? undefined : problems.join("; ");
    },
    map: (mounts, spec) => {
      if (mounts.length === 0) return;
      spec.container.mounts = mounts.map((m) => ({
        // A trailing "/" marks a directory mount for berth; the runtime wants the plain path.
        hostPath: (m.source as string).length > 1 ? (m.source as string).replace(/\/+$/, "") : m.source as string,
        containerPath: m.target,
        ...(m.readOnly === true && { readonly: true }),
        propagation: PROPAGATION[m.propagation ?? "rprivate"] as MountPropagation,
      }));
    },
  },
  privileged: {
    map: (privileged, spec) => {
      security(spec).privileged = privileged;
      (spec.sandbox.linux?.securityContext as { privileged?: boolean }).privileged = privileged;
    },
  },
  // Always the host network (the sandbox is made with it): anything else needs CNI.
  networkMode: {
    refuse: (mode) =>
      mode === "host" ? undefined : `networkMode "${mode}" needs a pod network (CNI); only "host" is supported`,
  },
  networks: {
    refuse: (networks) =>
      networks.length === 0
        ? undefined
        : "user-defined networks need a pod network (CNI); the container uses the host network: remove `networks`",
  },
  pidMode: {
    refuse: (mode) =>
      namespaceMode(mode, "CONTAINER") === undefined ? `pidMode "${mode}" is not supported (only "host")` : undefined,
    map: (mode, spec) => void (namespaces(spec).pid = namespaceMode(mode, "CONTAINER") as NamespaceMode),
  },
  ipcMode: {
    refuse: (mode) =>
      namespaceMode(mode, "POD") === undefined
        ? `ipcMode "${mode}" is not supported (only "host", "private", "shareable")`
        : undefined,
    map: (mode, spec) => void (namespaces(spec).ipc = namespaceMode(mode, "POD") as NamespaceMode),
  },
  user: { map: (_user, spec, config) => setRunAs(spec, config) },
  group: {
    refuse: (group) => /^\d+$/.test(group) ? undefined : `group "${group}" must be numeric: CRI takes a group id only`,
    map: (_group, spec, config) => setRunAs(spec, config),
  },
  env: {
    map: (env, spec) => {
      spec.container.envs = Object.entries(env)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ({ key, value }));
    },
  },
  init: {
    refuse: (init) =>
      init ? "CRI has no init option: remove `init` and use an entrypoint that exits on SIGTERM" : undefined,
  },
  restartPolicy: {
    refuse: () => "CRI has no restart policy (the kubelet runtime restarts nothing by itself): remove `restartPolicy`",
  },
  stopSignal: { refuse: () => "this CRI version takes no stop signal: remove `stopSignal`" },
  // berth's own stops (StopContainer's timeout) use it; CRI keeps no per-container setting.
  stopTimeout: { map: () => {} },
  // The engine's (engine/replace-order.ts): a recreate runs a new sandbox beside the old one.
  recreateOrder: { map: () => {} },
  // Sent with CreateContainer, and changed in place with UpdateContainerResources.
  memory: { map: setResources },
  memoryReservation: {
    refuse: () => "CRI has no soft memory limit: remove `memoryReservation`, or run the container on a Docker host",
  },
  memorySwap: {
    // containerd sets swap to the memory limit when none is given, and a plan reads that back as not set.
    refuse: (swap, config) =>
      config.memory !== undefined && sizeInBytes(swap) === sizeInBytes(config.memory)
        ? "memorySwap equal to memory is what CRI does without it (no swap): remove `memorySwap`"
        : undefined,
    map: setResources,
  },
  // A CFS quota in microseconds over a 100 ms period: steps of 0.00001 CPU, the kernel's least 1 ms.
  cpus: {
    refuse: (cpus) =>
      cpus < 0.01 || Math.abs(Math.round(cpus * CPU_PERIOD_US) - cpus * CPU_PERIOD_US) > 1e-6
        ? `cpus ${cpus}: CRI takes CPUs from 0.01, with at most 5 decimals (a CFS quota in microseconds): round it`
        : undefined,
    map: setResources,
  },
  cpuShares: { map: setResources },
  cpusetCpus: { map: setResources },
  pidsLimit: {
    refuse: () => "CRI sets no per-container process limit (the kubelet's is per node): remove `pidsLimit`",
  },
  shmSize: { refuse: () => "CRI sets no /dev/shm size per container: remove `shmSize`" },
  labels: { map: (labels, spec) => void (spec.container.labels = { ...labels, ...spec.container.labels }) },
  hostname: { refuse: (name) => name === "" ? undefined : hostNetwork("hostname") },
  domainname: { refuse: (name) => name === "" ? undefined : hostNetwork("domainname") },
  extraHosts: { refuse: (hosts) => hosts.length === 0 ? undefined : hostNetwork("extraHosts") },
  dns: { refuse: (servers) => servers.length === 0 ? undefined : hostNetwork("dns") },
  dnsSearch: { refuse: (domains) => domains.length === 0 ? undefined : hostNetwork("dnsSearch") },
  capAdd: {
    map: (caps, spec) => {
      if (caps.length === 0) return;
      (security(spec).capabilities ??= {}).addCapabilities = criCapabilities(caps);
    },
  },
  capDrop: {
    map: (caps, spec) => {
      if (caps.length === 0) return;
      (security(spec).capabilities ??= {}).dropCapabilities = criCapabilities(caps);
    },
  },
  securityOpt: {
    refuse: refusedSecurityOptions,
    map: (opts, spec) => void Object.assign(security(spec), criSecurityOptions(opts)),
  },
  readOnly: { map: (readOnly, spec) => void (security(spec).readonlyRootfs = readOnly) },
  devices: { map: (devices, spec) => void (devices.length > 0 && (spec.container.devices = criDevices(devices))) },
  ulimits: {
    refuse: (limits) =>
      Object.keys(limits).length === 0
        ? undefined
        : "CRI sets no per-container ulimits (the runtime's own limits apply): remove `ulimits`, or run the container on a Docker host",
  },
  // Sandbox-level in CRI; berth makes one sandbox per container, so they are the container's.
  sysctls: {
    refuse: refusedSysctls,
    map: (sysctls, spec) => {
      if (Object.keys(sysctls).length === 0) return;
      (spec.sandbox.linux as NonNullable<PodSandboxConfig["linux"]>).sysctls = { ...sysctls };
    },
  },
  groupAdd: {
    refuse: refusedGroups,
    map: (groups, spec) => void (groups.length > 0 && (security(spec).supplementalGroups = groups.map(Number))),
  },
  tmpfs: {
    refuse: (mounts) =>
      Object.keys(mounts).length === 0
        ? undefined
        : "CRI has no tmpfs mounts: remove `tmpfs`, or run the container on a Docker host",
  },
  // The runtime writes the container's output to its own files (/var/log/berth), which berth rotates with
  // json-file's max-size and max-file (log-rotation.ts); no other driver or option.
  logging: { refuse: (logging) => rotationOf(logging).problem },
  // CRI runs no healthchecks: berth runs the command through exec while it waits for the gate (engine/gate.ts).
  healthcheck: { map: () => {} },
  gate: { map: () => {} },
  // How apply gets the image (engine/apply-pull.ts), not part of the container.
  pull: { map: () => {} },
};

/** The container shares the host's network namespace (no CNI), and so its name and resolver. */
function hostNetwork(field: string): string {
  return `the container uses the host network, so the host's name and resolver: remove \`${field}\``;
}

function setFields(config: ContainerConfig): Array<[keyof ContainerConfig, CriField<unknown>, unknown]> {
  return containerFields().flatMap(([key]) => {
    const value = config[key];
    return value === undefined ? [] : [[key, CRI_MAPPING[key] as CriField<unknown>, value]];
  });
}

/**
 * Checks that CRI can run `config` as berth asks, without CNI.
 *
 * @throws {BerthError} VALIDATION naming every option that cannot be honoured.
 */
export function checkSupported(config: ContainerConfig): void {
  const problems = setFields(config).flatMap(([, field, value]) => field.refuse?.(value, config) ?? []);
  if (problems.length > 0) {
    throw new BerthError("VALIDATION", `container "${config.name}" cannot run through CRI: ${problems.join("; ")}`, {
      container: config.name,
    });
  }
}

/** The config as stored in {@link CONFIG_ANNOTATION}: env names instead of env. */
export type AnnotatedConfig = Omit<ContainerConfig, "env"> & { envNames?: string[] };

function annotated(config: ContainerConfig): AnnotatedConfig {
  const { env, ...rest } = config;
  return env === undefined ? rest : { ...rest, envNames: Object.keys(env) };
}

/**
 * Builds the sandbox and container configs (call {@link checkSupported} first).
 *
 * @param config The berth config; `image` is the image actually run.
 * @param labels Labels for both the sandbox and the container.
 * @param readOnlyMounts Every mount read-only (berth's file helper when it only reads).
 * @param generation The sandbox's generation (its metadata attempt; see {@link sandboxLogDirectory}).
 *
 * @example
 * ```ts
 * import { podSpec } from "./pod-spec.ts";
 * const spec = podSpec({ name: "web", image: "busybox", user: "1000", pidMode: "host" }, { "berth.managed": "true" });
 * if (spec.sandbox.linux?.securityContext?.namespaceOptions?.network !== "NODE") throw new Error("host network expected");
 * if (spec.container.linux?.securityContext?.runAsUser?.value !== 1000) throw new Error("uid expected");
 * ```
 */
export function podSpec(
  config: ContainerConfig,
  labels: Record<string, string>,
  readOnlyMounts = false,
  generation = 0,
): PodSpec {
  // One object shared by the sandbox and the container; the pid and ipc fields change it.
  const namespaceOptions: NamespaceOption = { network: "NODE", pid: "CONTAINER", ipc: "POD" };
  const sandbox: PodSandboxConfig = {
    // CRI reserves container names by sandbox name, uid and container attempt: each generation has its uid.
    metadata: {
      name: config.name,
      uid: generation === 0 ? config.name : `${config.name}@${generation}`,
      namespace: POD_NAMESPACE,
      attempt: generation,
    },
    // A host-network sandbox must leave the hostname empty.
    hostname: "",
    logDirectory: sandboxLogDirectory(config.name, generation),
    labels: { ...labels },
    annotations: { [CONFIG_ANNOTATION]: JSON.stringify(annotated(config)) },
    linux: { securityContext: { namespaceOptions, privileged: false } },
  };
  const container: CriContainerConfig = {
    metadata: { name: config.name, attempt: 0 },
    image: { image: config.image },
    labels: { ...labels },
    linux: { securityContext: { privileged: false, namespaceOptions } },
  };
  const spec = { sandbox, container };
  for (const [, field, value] of setFields(config)) field.map?.(value, spec, config);
  if (readOnlyMounts) { for (const mount of container.mounts ?? []) mount.readonly = true; }
  return spec;
}

/**
 * The log directory of generation `generation` of the sandboxes named
 * `name`. A recreate runs the new sandbox (the next generation) beside the
 * old one, and removing the old one deletes its directory: each has its own.
 * Generation 0 keeps the path of berths before generations; `@` is in no
 * container name, so no other name's directory is hit.
 */
export function sandboxLogDirectory(name: string, generation: number): string {
  return generation === 0 ? `${LOG_ROOT}/${name}` : `${LOG_ROOT}/${name}@${generation}`;
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

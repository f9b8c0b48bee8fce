/**
 * The data model: containers configured on hosts, and the
 * containers resource. Plain, serialisable data (field names as in the
 * flexkube containers format, so its documents load as they are).
 *
 * @module
 */

/** A published port: host `ip:port` -> container `port`. */
export interface PortMap {
  /** Host address to bind; all addresses when empty. */
  ip?: string;
  /** Port number on the host and in the container. */
  port: number;
  /** `tcp` (default), `udp` or `sctp`. */
  protocol?: "tcp" | "udp" | "sctp";
}

/**
 * A mount: a bind mount (the default type; a `source` ending in `/` is a
 * directory mount, created when missing), a named `volume` (created when
 * missing, never removed with the container) or a `tmpfs` (no source).
 */
export interface Mount {
  /** `bind` (default), `volume` or `tmpfs`. */
  type?: "bind" | "volume" | "tmpfs";
  /** Host path of a bind mount; the volume's name; not set for tmpfs. */
  source?: string;
  target: string;
  /** Mounted read-only. */
  readOnly?: boolean;
  /** Bind mounts: `rprivate` (engine default), `private`, `rshared`, `shared`, `rslave`, `slave`. */
  propagation?: string;
  /** tmpfs: its size limit, bytes or a size such as `64m`; unlimited when not set. */
  size?: number | string;
  /** tmpfs: permission bits, octal (`"1777"`); the engine's 1777 when not set. */
  mode?: string;
  /**
   * Volumes: the driver the volume is created with when missing (`local` when
   * not set). berth's config declares it under the top-level `volumes:`.
   */
  driver?: string;
  /** Volumes: the driver's options when it is created. */
  driverOptions?: Record<string, string>;
}

/** A user-defined network a container joins, on its own host. */
export interface NetworkAttachment {
  /** The network's name (berth's config: a name from `networks:`). */
  name: string;
  /** Other names the container has on this network. */
  aliases?: string[];
  /** Static IPv4 address; the network's IPAM picks one when not set. */
  ipv4Address?: string;
  /** The driver the network is created with when missing (`bridge` when not set). */
  driver?: string;
  /** Its subnet (CIDR) when created; needed for a static address. */
  subnet?: string;
  /** Created internal: no route out of it. */
  internal?: boolean;
}

/** A host device given to the container. */
export interface Device {
  /** Device path on the host, such as `/dev/fuse`. */
  source: string;
  /** Path in the container; the host path when not set. */
  target?: string;
  /** Cgroup permissions, from `rwm` (the default). */
  permissions?: string;
}

/** A resource limit (see `ulimit`); -1 for unlimited. */
export interface Ulimit {
  soft: number;
  hard: number;
}

/** Where the container's output goes: a Docker logging driver and its options. */
export interface Logging {
  /** `json-file` (the default), `local`, `journald`, `syslog`, `fluentd`, `gelf`, `none`, ... */
  driver?: string;
  /** Driver options; for json-file, `max-size` and `max-file` default to 10m and 3 (rotation). */
  options?: Record<string, string>;
}

/** What the container is. Hashing this decides "changed". Each field is declared in core/fields.ts. */
export interface ContainerConfig {
  name: string;
  image: string;
  args?: string[];
  entrypoint?: string[];
  /** Working directory of the process in the container (absolute); the image's when not set. */
  workingDir?: string;
  ports?: PortMap[];
  mounts?: Mount[];
  privileged?: boolean;
  networkMode?: string;
  /** User-defined networks joined (not with `networkMode`). */
  networks?: NetworkAttachment[];
  pidMode?: string;
  ipcMode?: string;
  user?: string;
  group?: string;
  env?: Record<string, string>;
  /** Run an init process as PID 1 (docker `--init`). berth extension. */
  init?: boolean;
  /** `unless-stopped` (default), `no`, `always`, `on-failure` or `on-failure:N` (at most N restarts). */
  restartPolicy?: string;
  /** Signal that stops the container, such as `SIGQUIT`; the image's (else SIGTERM) when not set. */
  stopSignal?: string;
  /** Seconds from the stop signal to SIGKILL when berth or the engine stops the container. */
  stopTimeout?: number;
  /** Memory limit: bytes, or a size such as `512m`, `1g` (k, m, g: binary units). */
  memory?: number | string;
  /** Soft memory limit, a size. */
  memoryReservation?: number | string;
  /** Memory plus swap limit, a size; -1 for unlimited swap; twice `memory` when not set. */
  memorySwap?: number | string;
  /** CPUs, a decimal such as 1.5. */
  cpus?: number;
  /** Relative CPU weight (the engine's default is 1024). */
  cpuShares?: number;
  /** CPUs the container may run on, such as `0-1,3`. */
  cpusetCpus?: string;
  /** Most processes in the container. */
  pidsLimit?: number;
  /** Size of /dev/shm (the engine's default is 64m). */
  shmSize?: number | string;
  /** Labels of the user's own; `berth.*` keys are berth's and refused. */
  labels?: Record<string, string>;
  /** Host name inside the container. */
  hostname?: string;
  /** Domain name inside the container. */
  domainname?: string;
  /** Extra `/etc/hosts` entries: `name:address`. */
  extraHosts?: string[];
  /** DNS servers (addresses). */
  dns?: string[];
  /** DNS search domains. */
  dnsSearch?: string[];
  /** Capabilities to add, such as `NET_ADMIN` (`CAP_` prefix optional), or `ALL`. */
  capAdd?: string[];
  /** Capabilities to drop. */
  capDrop?: string[];
  /** Security options: `no-new-privileges`, `seccomp=...`, `apparmor=...`, `label=...`. */
  securityOpt?: string[];
  /** Read-only root file system. */
  readOnly?: boolean;
  /** Host devices. */
  devices?: Device[];
  /** Resource limits by name: `nofile: { soft: 1024, hard: 4096 }`. */
  ulimits?: Record<string, Ulimit>;
  /** Namespaced kernel parameters, such as `net.ipv4.ip_forward: "1"`. */
  sysctls?: Record<string, string>;
  /** Extra groups of the process. */
  groupAdd?: string[];
  /** tmpfs mounts: path in the container -> mount options (`size=64m,mode=1777`, or ""). */
  tmpfs?: Record<string, string>;
  /** Logging driver and options; json-file rotated at 10m x 3 files when not set. */
  logging?: Logging;
  /** Docker's healthcheck (run by the engine on Docker, by berth through exec on CRI). */
  healthcheck?: Healthcheck;
  /** What apply waits for after starting the container (engine/gate.ts); not part of its identity. */
  gate?: GateConfig;
  /** When apply pulls the image: `missing` (default), `always` (also: plan checks the registry), `never`. Not identity. */
  pull?: PullPolicy;
}

/** A command run in the container to tell whether it is healthy: Docker's `Healthcheck`. */
export interface Healthcheck {
  /**
   * The command: a list is run as it is, a string by `/bin/sh -c`; Docker's
   * `["CMD", ...]` and `["CMD-SHELL", "..."]` forms are taken too. Exit 0 is healthy.
   */
  test: string[] | string;
  /** Time between checks; default 30s. */
  interval?: string;
  /** Time one check may take; default 30s. */
  timeout?: string;
  /** Failures in a row that make the container unhealthy; default 3. */
  retries?: number;
  /** Time after start when failures do not count yet; default 0s. */
  startPeriod?: string;
}

/**
 * The gate: what apply waits for after it starts the container. One of
 * `healthy`, `running`, `tcp` or `none`; `timeout` bounds the wait.
 */
export interface GateConfig {
  /** The healthcheck reports healthy. */
  healthy?: boolean;
  /** Running, and not restarted, for this long (a duration such as `10s`). */
  running?: string;
  /** This TCP port accepts connections on 127.0.0.1 as the host sees it. */
  tcp?: number;
  /** No gate: the change is done once the container is started. */
  none?: boolean;
  /** How long apply waits; default 60s (longer when the healthcheck needs it). */
  timeout?: string;
}

/** Container status as the runtime reports it. */
export interface ContainerStatus {
  id: string;
  /** `running`, `exited`, `created`, `restarting`, ...; `gone` when the id no longer exists. */
  status: string;
}

/** Status value for a recorded id the runtime no longer knows. */
export const STATUS_GONE = "gone";

/** Names of berth's file helper containers start with this (the rest is random); no configured container may. */
export const FILE_HELPER_PREFIX = "berth-files-";

/** The Docker engine address used when none is configured. */
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";
/** The CRI socket used when none is configured. */
export const DEFAULT_CRI_ADDRESS = "unix:///run/containerd/containerd.sock";

/** Docker runtime settings. */
export interface DockerRuntimeConfig {
  /** Engine address: `unix:///var/run/docker.sock` (default) or `tcp://host:port`. */
  host?: string;
  /** TLS for `tcp://`: paths to PEM files. Verification is on when `ca` is given. */
  tls?: { ca?: string; cert?: string; key?: string; verify?: boolean };
  /** Registry credentials keyed by registry host (`docker.io`, `127.0.0.1:5000`). Secret: never persisted. */
  registryAuth?: Record<string, { username: string; password: string }>;
}

/** Settings of the kubelet-style runtime (CRI v1: containerd, CRI-O). */
export interface KubeletRuntimeConfig {
  /** CRI socket: `unix:///run/containerd/containerd.sock` (default). */
  address?: string;
  /** Image of the file helper container when the container's image lacks `sh`, `tar`, `head`, `stat`, `mkdir`, `chmod`. */
  configImage?: string;
  /** Registry credentials keyed by registry host. Secret: never persisted. */
  registryAuth?: Record<string, { username: string; password: string }>;
}

/** Which runtime plugin runs the container, with its settings. Exactly one key. */
export interface RuntimeConfig {
  docker?: DockerRuntimeConfig;
  kubelet?: KubeletRuntimeConfig;
}

/** When an apply pulls a container's image: when it is `missing` on the host (default), `always`, or `never`. */
export type PullPolicy = "missing" | "always" | "never";

/** The image a container runs, as its runtime identifies it. */
export interface ImageIdentity {
  /** The image ID (Docker: the config digest; CRI: ImageStatus's id). */
  id: string;
  /** The repository digest the image was pulled by (`repo@sha256:...`), where the runtime knows one. */
  digest?: string;
}

/** What a container was before a change replaced it: what a rollback returns to. */
export interface PreviousGeneration {
  /** Its config, secrets sealed as in the state. */
  config: ContainerConfig;
  /** The image it ran, where recorded. */
  image?: ImageIdentity;
  /** Its config files (secret ones sealed). */
  configFiles?: Record<string, string>;
}

/** The container part of a host-configured container. */
export interface Container {
  config: ContainerConfig;
  status?: ContainerStatus;
  runtime?: RuntimeConfig;
  /** The image the container runs, as recorded when berth created it. */
  image?: ImageIdentity;
  /** The generation a change replaced, kept for `rollback`. */
  previous?: PreviousGeneration;
}

/** SSH settings of a host. Secrets (`password`, `privateKey`, `passphrase`) are never persisted. */
export interface SSHConfig {
  address: string;
  port?: number;
  user?: string;
  password?: string;
  /** Inline private key (PEM/OpenSSH). */
  privateKey?: string;
  /** Path of a private key file on the machine running berth. */
  privateKeyPath?: string;
  passphrase?: string;
  /** Use the agent at `SSH_AUTH_SOCK` (default: when the variable is set). */
  agent?: boolean;
  /** Durations such as `30s`, `1m`. */
  connectionTimeout?: string;
  retryTimeout?: string;
  retryInterval?: string;
  /** known_hosts file; default `~/.ssh/known_hosts`. */
  knownHostsFile?: string;
  hostKeyPolicy?: "strict" | "accept-new" | "insecure";
  /** Bastions to pass through, outermost first (like ProxyJump). */
  jump?: SSHConfig[];
}

/** How to reach a host's runtime. Exactly one of the two. */
export interface Host {
  directConfig?: Record<string, never>;
  sshConfig?: SSHConfig;
}

/** Library-only hooks; never serialised. */
export interface Hooks {
  postStart?: () => void | Promise<void>;
}

/** Which values of a container are secrets (see core/sensitive.ts). */
export interface SensitiveMarks {
  /** Names of env vars whose values are secrets. */
  env?: string[];
  /** Paths of config files whose contents are secrets. */
  configFiles?: string[];
}

/** One container on one host, with its config files. */
export interface HostConfiguredContainer {
  container: Container;
  host: Host;
  /** Absolute host path -> content. */
  configFiles?: Record<string, string>;
  /** Which env values and config files are secrets: never written or printed, only their digests. */
  sensitive?: SensitiveMarks;
  hooks?: Hooks;
}

/** name -> host-configured container. */
export type ContainersState = Record<string, HostConfiguredContainer>;

/** The containers resource. */
export interface Containers {
  previousState?: ContainersState;
  desiredState?: ContainersState;
}

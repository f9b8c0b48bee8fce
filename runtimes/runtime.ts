/**
 * The runtime plugin seam. The state engine talks to containers only
 * through this interface; plugins (`runtimes/docker`, ...) implement it and
 * are loaded by `runtimes/registry.ts` when configuration picks them.
 *
 * @module
 */
import type { ContainerConfig, ContainerStatus, ImageIdentity, PullPolicy } from "../core/model.ts";
import type { FileRead, FileToWrite, HostFileSystem, PathInfo } from "../transports/file-system.ts";

/** Options every runtime call accepts. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Labels berth puts on every container it creates. */
export const LABEL_MANAGED = "berth.managed"; // value "true"
export const LABEL_NAME = "berth.name"; // the berth container name
export const LABEL_CONFIG_HASH = "berth.config-hash"; // hash of the ContainerConfig (see core/hash.ts)
export const LABEL_HELPER = "berth.helper"; // "true" on -config helper containers
export const LABEL_HELPER_OWNER = "berth.helper-owner"; // "hostname:pid" of the run that made the helper

/** Files as the runtime's file operations take them; paths are absolute inside the container. */
export type { FileRead, FileToWrite, PathInfo } from "../transports/file-system.ts";
/** What inspect reports, as berth needs it. */
export interface ObservedContainer extends ContainerStatus {
  /** Engine-side name without a leading slash. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /**
   * The settings the engine changes in place (`inPlace` in core/fields.ts) as
   * it reports them now, in config form; absent when the runtime cannot tell.
   */
  settings?: Partial<ContainerConfig>;
  /** The networks the container is attached to, by name, where the runtime's list tells them. */
  networks?: string[];
  /** The process environment as the runtime holds it (`NAME=value`), from `inspect()` where the runtime tells it. */
  env?: string[];
  /** Times the engine restarted the container by its restart policy, where the runtime tells it (gates). */
  restartCount?: number;
  /** When the current run started, in the runtime's words: a change means it restarted (gates). */
  startedAt?: string;
  /** The exit code of the last run, when it has exited. */
  exitCode?: number;
  /** The engine's healthcheck verdict (`starting`, `healthy`, `unhealthy`), when it runs the container's healthcheck. */
  health?: string;
  /** The output of the engine's last healthcheck run, with the verdict. */
  healthOutput?: string;
}

/** Container creation: the config plus the labels to attach. */
export interface CreateOptions extends CallOptions {
  labels?: Record<string, string>;
  /** Restart policy; default `unless-stopped` for berth containers. */
  restartPolicy?: "no" | "unless-stopped" | "always";
  /** Every mount read-only (berth's file helper when it only reads). */
  readOnlyMounts?: boolean;
}

/** A runtime plugin bound to one host. */
export interface Runtime {
  /**
   * Makes sure the image is present: pulled when missing (`pull: "missing"`,
   * the default), pulled again (`"always"`), or IMAGE_MISSING when absent (`"never"`).
   */
  ensureImage(image: string, options?: CallOptions & { pull?: PullPolicy }): Promise<void>;
  /** The local image's ID and repository digest, or undefined when the image is not on the host. */
  imageIdentity(image: string, options?: CallOptions): Promise<ImageIdentity | undefined>;
  /**
   * The digest the registry serves for `image` now, without pulling (read-only);
   * absent on runtimes that cannot ask (CRI has no such call).
   */
  registryDigest?(image: string, options?: CallOptions): Promise<string>;
  /**
   * Creates a container, returns its id. Throws CONFLICT when the name is
   * taken. Named volumes it mounts are created first when missing.
   */
  create(config: ContainerConfig, options?: CreateOptions): Promise<string>;
  start(id: string, options?: CallOptions): Promise<void>;
  /** Changes the in-place settings of `config` (`inPlace` in core/fields.ts) on a container, running or not. */
  update(id: string, config: ContainerConfig, options?: CallOptions): Promise<void>;
  /** Stops a container; `timeoutSeconds` before it is killed (default 10). */
  stop(id: string, options?: CallOptions & { timeoutSeconds?: number }): Promise<void>;
  /** Removes a named volume; one that is not there is no error. Only runtimes with named volumes have it. */
  removeVolume?(name: string, options?: CallOptions): Promise<void>;
  /** Removes a user-defined network; one that is not there counts as removed. */
  removeNetwork?(name: string, options?: CallOptions): Promise<void>;
  /** Removes a container (must be stopped unless `force`). Named volumes stay. */
  remove(id: string, options?: CallOptions & { force?: boolean }): Promise<void>;
  /** Status, or undefined when no such container exists. */
  status(id: string, options?: CallOptions): Promise<ContainerStatus | undefined>;
  /** Inspect, or undefined when no such container exists. */
  inspect(idOrName: string, options?: CallOptions): Promise<ObservedContainer | undefined>;
  /** Containers carrying all the given labels (running or not). */
  list(labels: Record<string, string>, options?: CallOptions): Promise<ObservedContainer[]>;
  /** Writes a batch of files into a container in one upload; parent directories are created. */
  writeFiles(id: string, files: FileToWrite[], options?: CallOptions): Promise<void>;
  /** Reads files; a missing path is absent from the result, not an error. */
  readFiles(id: string, paths: string[], options?: CallOptions): Promise<FileRead[]>;
  /** Stats paths; a missing path is absent from the result. */
  stat(id: string, paths: string[], options?: CallOptions): Promise<PathInfo[]>;
  /** Creates directories (and parents) with the given mode (default 0o700). */
  mkdir(id: string, paths: string[], options?: CallOptions & { mode?: number }): Promise<void>;
  /**
   * Whether a helper container must be running for the file operations
   * (false for Docker's archive API, true for exec-based runtimes).
   */
  readonly filesNeedRunningContainer: boolean;
  /**
   * The files of the engine's host through the channel that reaches the
   * engine (the transport's), or undefined when the engine is reached over
   * the network and its host's files are not on that channel.
   */
  readonly hostFiles: HostFileSystem | undefined;
  /**
   * Runs a command in the running container, for healthchecks on runtimes
   * whose engine runs none (CRI). Optional: Docker's engine runs them itself.
   */
  exec?(
    id: string,
    command: string[],
    options?: CallOptions & { timeoutSeconds?: number },
  ): Promise<{ exitCode: number; output: string }>;
  /** The container's output so far (the last `tail` lines over both streams when given). Optional. */
  logs?(id: string, options?: CallOptions & { tail?: number }): Promise<{ stdout: string; stderr: string }>;
  /** Releases connections. */
  close(): Promise<void>;
}

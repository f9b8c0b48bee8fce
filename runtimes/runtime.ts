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
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

/** Label on every container berth creates, its file helpers included; its value is `"true"`. */
export const LABEL_MANAGED = "berth.managed";
/** Label holding the container's name as configured (`name` of its config). */
export const LABEL_NAME = "berth.name";
/** Label holding `configHash()` (core/hash.ts) of the config and runtime settings the container was created with. */
export const LABEL_CONFIG_HASH = "berth.config-hash";
/** Label `"true"` on berth's file helper containers, which reach a host's files through its runtime. */
export const LABEL_HELPER = "berth.helper";
/** Label on a file helper: `hostname:pid` of the run that made it, so one whose run is gone can be removed. */
export const LABEL_HELPER_OWNER = "berth.helper-owner";

/** Files as the runtime's file operations take them; paths are absolute inside the container. */
export type { FileRead, FileToWrite, PathInfo } from "../transports/file-system.ts";
/** What inspect reports, as berth needs it. */
export interface ObservedContainer extends ContainerStatus {
  /** Engine-side name without a leading slash. */
  name: string;
  /** The image it was created from, as the runtime reports it. */
  image: string;
  /** All its labels, berth's and the user's. */
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
  /** From `inspect()` where the runtime can tell: the settings read back in config form, for `berth import`. */
  readBack?: {
    /** The fields read back (absent from `config`: the engine's default). */
    compared: readonly (keyof ContainerConfig)[];
    config: Partial<ContainerConfig>;
  };
}

/** Which output `logs()` and `followLogs()` return. */
export interface LogOptions extends CallOptions {
  /** Only the last `tail` lines, counted over both streams. */
  tail?: number;
  /** Only what was printed at or after this time (ms since the epoch). */
  since?: number;
  /** Each line starts with the time it was printed (RFC 3339, nanoseconds) and a space. */
  timestamps?: boolean;
}

/** Container creation: the config plus the labels to attach. */
export interface CreateOptions extends CallOptions {
  /** Labels added to the config's own, winning on a clash (berth's, such as {@link LABEL_NAME}). */
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
  /** Starts a created or stopped container; one already running is left as it is. */
  start(id: string, options?: CallOptions): Promise<void>;
  /** Changes the in-place settings of `config` (`inPlace` in core/fields.ts) on a container, running or not. */
  update(id: string, config: ContainerConfig, options?: CallOptions): Promise<void>;
  /** Stops a container; `timeoutSeconds` before it is killed (default 10). */
  stop(id: string, options?: CallOptions & { timeoutSeconds?: number }): Promise<void>;
  /**
   * Renames a container (running or not); CONFLICT when the name is taken.
   * Runtimes whose names are fixed (CRI) have none: a recreate then stops and removes the old one first.
   */
  rename?(id: string, name: string, options?: CallOptions): Promise<void>;
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
  /**
   * The containers holding any of these names exactly, berth's or not, in one request; runtimes without it
   * are asked name by name with `inspect`.
   */
  listNamed?(names: string[], options?: CallOptions): Promise<ObservedContainer[]>;
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
  logs?(id: string, options?: LogOptions): Promise<{ stdout: string; stderr: string }>;
  /**
   * The container's output as it prints it (after what `logs()` would return), until it stops or
   * `signal` aborts. Optional: runtimes without it cannot follow.
   */
  followLogs?(
    id: string,
    onOutput: (stream: "stdout" | "stderr", text: string) => void,
    options?: LogOptions,
  ): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

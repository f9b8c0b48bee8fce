/**
 * Files on a host, reached through the runtime rather than a shell: a
 * short-lived helper container bind-mounts the host's `/` at `/mnt/host`
 * and the runtime's file operations act on it. One helper per host and
 * runtime per run, created on first use and always removed by `close()`.
 *
 * @module
 */
import { BerthError, withContext } from "../core/errors.ts";
import type { FileRead, FileToWrite, PathInfo, Runtime } from "../runtimes/runtime.ts";
import { ownerIsGone, processOwner } from "../platform/process.ts";
import { LABEL_HELPER, LABEL_HELPER_OWNER, LABEL_MANAGED } from "../runtimes/runtime.ts";

/** Where the host's file system is mounted in the helper container. */
export const CONFIG_MOUNTPOINT = "/mnt/host";

/** File operations on one host, with host paths. */
export class HostFiles {
  readonly #runtime: Runtime;
  readonly #hostLabel: string;
  readonly #helperName: string;
  readonly #image: string;
  #helper: Promise<string> | undefined;

  /**
   * @param runtime The runtime of the host.
   * @param helper Name and image of the helper container (`<name>-config`, the container's image).
   */
  constructor(runtime: Runtime, hostLabel: string, helper: { name: string; image: string }) {
    this.#runtime = runtime;
    this.#hostLabel = hostLabel;
    this.#helperName = helper.name;
    this.#image = helper.image;
  }

  /** Writes files (host paths) in one batch. */
  async write(files: FileToWrite[], signal?: AbortSignal): Promise<void> {
    if (files.length === 0) return;
    const id = await this.#helperId(signal);
    const inHelper = files.map((f) => ({ ...f, path: CONFIG_MOUNTPOINT + f.path }));
    await this.#runtime.writeFiles(id, inHelper, opts(signal)).catch((err) => {
      throw withContext(err, `writing ${files.map((f) => `"${f.path}"`).join(", ")} on host ${this.#hostLabel}`);
    });
  }

  /** Reads files (host paths); a missing file is absent from the map. */
  async read(paths: string[], signal?: AbortSignal): Promise<Map<string, FileRead>> {
    if (paths.length === 0) return new Map();
    const id = await this.#helperId(signal);
    const found = await this.#runtime.readFiles(id, paths.map((p) => CONFIG_MOUNTPOINT + p), opts(signal)).catch((err) => {
      throw withContext(err, `reading files on host ${this.#hostLabel}`);
    });
    return new Map(found.map((f) => {
      const path = f.path.slice(CONFIG_MOUNTPOINT.length);
      return [path, { ...f, path }];
    }));
  }

  /** Stats host paths; a missing path is absent from the map. */
  async stat(paths: string[], signal?: AbortSignal): Promise<Map<string, PathInfo>> {
    if (paths.length === 0) return new Map();
    const id = await this.#helperId(signal);
    const found = await this.#runtime.stat(id, paths.map((p) => CONFIG_MOUNTPOINT + p), opts(signal)).catch((err) => {
      throw withContext(err, `checking paths on host ${this.#hostLabel}`);
    });
    return new Map(found.map((info) => {
      const path = info.path.slice(CONFIG_MOUNTPOINT.length);
      return [path, { ...info, path }];
    }));
  }

  /** Creates directories (mode 0700) with their parents. */
  async mkdir(paths: string[], signal?: AbortSignal): Promise<void> {
    if (paths.length === 0) return;
    const id = await this.#helperId(signal);
    await this.#runtime.mkdir(id, paths.map((p) => CONFIG_MOUNTPOINT + p), { mode: 0o700, ...opts(signal) }).catch((err) => {
      throw withContext(err, `creating directories ${paths.map((p) => `"${p}"`).join(", ")} on host ${this.#hostLabel}`);
    });
  }

  /** Removes the helper container if one was created. Never throws; returns the error, if any. */
  async close(): Promise<BerthError | undefined> {
    const helper = this.#helper;
    this.#helper = undefined;
    if (helper === undefined) return undefined;
    try {
      const id = await helper;
      await this.#runtime.remove(id, { force: true, signal: AbortSignal.timeout(30_000) });
      return undefined;
    } catch (err) {
      return withContext(err, `removing helper container "${this.#helperName}" on host ${this.#hostLabel}`);
    }
  }

  #helperId(signal?: AbortSignal): Promise<string> {
    this.#helper ??= this.#createHelper(signal);
    // A failed creation is not cached: the next operation tries again.
    this.#helper.catch(() => {
      this.#helper = undefined;
    });
    return this.#helper;
  }

  /** Helpers left by a run that was killed (its process is gone) are removed; others are in use. */
  async #removeAbandonedHelpers(signal?: AbortSignal): Promise<void> {
    for (const helper of await this.#runtime.list({ [LABEL_HELPER]: "true" }, opts(signal))) {
      if (ownerIsGone(helper.labels[LABEL_HELPER_OWNER])) await this.#runtime.remove(helper.id, { force: true, ...opts(signal) });
    }
  }

  async #createHelper(signal?: AbortSignal): Promise<string> {
    const config = {
      name: this.#helperName,
      image: this.#image,
      // Only started by runtimes whose file operations need a running container.
      entrypoint: ["sleep"],
      args: ["3600"],
      mounts: [{ source: "/", target: CONFIG_MOUNTPOINT }],
    };
    const labels = { [LABEL_MANAGED]: "true", [LABEL_HELPER]: "true", [LABEL_HELPER_OWNER]: processOwner() };
    const options = { labels, restartPolicy: "no" as const, ...opts(signal) };
    const doing = `creating helper container "${this.#helperName}" on host ${this.#hostLabel}`;
    try {
      await this.#runtime.ensureImage(this.#image, opts(signal));
      await this.#removeAbandonedHelpers(signal);
      let id: string;
      try {
        id = await this.#runtime.create(config, options);
      } catch (err) {
        if (!(err instanceof BerthError && err.code === "CONFLICT")) throw err;
        const holder = await this.#runtime.inspect(this.#helperName, opts(signal));
        if (holder?.labels[LABEL_HELPER] !== "true") throw err;
        throw new BerthError(
          "CONFLICT",
          `another berth run (${holder.labels[LABEL_HELPER_OWNER] ?? "unknown"}) is using the helper container "${this.#helperName}": wait for it to finish`,
          { cause: err },
        );
      }
      if (this.#runtime.filesNeedRunningContainer) await this.#runtime.start(id, opts(signal));
      return id;
    } catch (err) {
      throw withContext(err, doing);
    }
  }
}

function opts(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

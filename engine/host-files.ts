/**
 * Files on a host, reached through the runtime rather than a shell: a
 * short-lived helper container bind-mounts the host's `/` at `/mnt/host`
 * and the runtime's file operations act on it. One helper per host and
 * runtime per run, created on first use and always removed by `close()`.
 * What a run has asked of or written to the host is remembered for that
 * run, so containers sharing a file cost one request, not one each.
 *
 * @module
 */
import { BerthError, withContext } from "../core/errors.ts";
import type { FileRead, FileToWrite, PathInfo, Runtime } from "../runtimes/runtime.ts";
import { ownerIsGone, processOwner } from "../platform/process.ts";
import { LABEL_HELPER, LABEL_HELPER_OWNER, LABEL_MANAGED } from "../runtimes/runtime.ts";
import { signalOption } from "../core/signal.ts";

/** Where the host's file system is mounted in the helper container. */
export const CONFIG_MOUNTPOINT = "/mnt/host";

/** File operations on one host, with host paths. */
export class HostFiles {
  readonly #runtime: Runtime;
  readonly #hostLabel: string;
  readonly #helperName: string;
  readonly #image: string;
  #helper: Promise<string> | undefined;
  /** What this run has read from the host, per path (undefined: missing). */
  readonly #contents = new Map<string, Promise<FileRead | undefined>>();
  /** What this run has found at paths on the host (undefined: missing). */
  readonly #infos = new Map<string, Promise<PathInfo | undefined>>();
  /** Writes of this run, by path and content: containers sharing a file write it once. */
  readonly #writes = new Map<string, Promise<void>>();

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

  /** Writes files (host paths) in one batch. A file already written with the same content in this run is not sent again. */
  async write(files: FileToWrite[], signal?: AbortSignal): Promise<void> {
    const todo = files.filter((f) => !this.#writes.has(writeKey(f)));
    if (todo.length > 0) {
      const done = this.#writeNow(todo, signal);
      for (const f of todo) this.#writes.set(writeKey(f), done);
      done.catch(() => todo.forEach((f) => this.#writes.delete(writeKey(f))));
      // What the host holds there changed (parents may have been created too).
      for (const f of todo) this.#contents.delete(f.path);
      this.#infos.clear();
    }
    await Promise.all(files.map((f) => this.#writes.get(writeKey(f))));
  }

  /** Reads files (host paths); a missing file is absent from the map. Each path is asked of the host once per run. */
  read(paths: string[], signal?: AbortSignal): Promise<Map<string, FileRead>> {
    return this.#memo(this.#contents, paths, (missing) => this.#readNow(missing, signal));
  }

  /** Stats host paths; a missing path is absent from the map. Each path is asked of the host once per run. */
  stat(paths: string[], signal?: AbortSignal): Promise<Map<string, PathInfo>> {
    return this.#memo(this.#infos, paths, (missing) => this.#statNow(missing, signal));
  }

  /** Creates directories (mode 0700) with their parents. */
  async mkdir(paths: string[], signal?: AbortSignal): Promise<void> {
    if (paths.length === 0) return;
    const id = await this.#helperId(signal);
    this.#infos.clear();
    await this.#runtime.mkdir(id, paths.map((p) => CONFIG_MOUNTPOINT + p), { mode: 0o700, ...signalOption(signal) })
      .catch((err) => {
        throw withContext(
          err,
          `creating directories ${paths.map((p) => `"${p}"`).join(", ")} on host ${this.#hostLabel}`,
        );
      });
  }

  /** Answers from what this run already asked; the paths not asked yet go to the host in one call. */
  async #memo<T>(
    known: Map<string, Promise<T | undefined>>,
    paths: string[],
    ask: (paths: string[]) => Promise<Map<string, T>>,
  ): Promise<Map<string, T>> {
    const missing = paths.filter((p) => !known.has(p));
    if (missing.length > 0) {
      const answer = ask(missing);
      for (const path of missing) {
        const one = answer.then((found) => found.get(path));
        one.catch(() => known.delete(path)); // a failure is not remembered
        known.set(path, one);
      }
    }
    // Taken now: a failed answer is dropped from `known` while we wait, and must still throw here.
    const pending = paths.map((path) => [path, known.get(path)] as const);
    const result = new Map<string, T>();
    for (const [path, answer] of pending) {
      const value = await answer;
      if (value !== undefined) result.set(path, value);
    }
    return result;
  }

  async #writeNow(files: FileToWrite[], signal?: AbortSignal): Promise<void> {
    const id = await this.#helperId(signal);
    const inHelper = files.map((f) => ({ ...f, path: CONFIG_MOUNTPOINT + f.path }));
    await this.#runtime.writeFiles(id, inHelper, signalOption(signal)).catch((err) => {
      throw withContext(err, `writing ${files.map((f) => `"${f.path}"`).join(", ")} on host ${this.#hostLabel}`);
    });
  }

  async #readNow(paths: string[], signal?: AbortSignal): Promise<Map<string, FileRead>> {
    const id = await this.#helperId(signal);
    const found = await this.#runtime.readFiles(id, paths.map((p) => CONFIG_MOUNTPOINT + p), signalOption(signal))
      .catch((err) => {
        throw withContext(err, `reading files on host ${this.#hostLabel}`);
      });
    return new Map(found.map((f) => {
      const path = f.path.slice(CONFIG_MOUNTPOINT.length);
      return [path, { ...f, path }];
    }));
  }

  async #statNow(paths: string[], signal?: AbortSignal): Promise<Map<string, PathInfo>> {
    const id = await this.#helperId(signal);
    const found = await this.#runtime.stat(id, paths.map((p) => CONFIG_MOUNTPOINT + p), signalOption(signal)).catch(
      (err) => {
        throw withContext(err, `checking paths on host ${this.#hostLabel}`);
      },
    );
    return new Map(found.map((info) => {
      const path = info.path.slice(CONFIG_MOUNTPOINT.length);
      return [path, { ...info, path }];
    }));
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
    for (const helper of await this.#runtime.list({ [LABEL_HELPER]: "true" }, signalOption(signal))) {
      if (ownerIsGone(helper.labels[LABEL_HELPER_OWNER])) {
        await this.#runtime.remove(helper.id, { force: true, ...signalOption(signal) });
      }
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
    const options = { labels, restartPolicy: "no" as const, ...signalOption(signal) };
    const doing = `creating helper container "${this.#helperName}" on host ${this.#hostLabel}`;
    try {
      await this.#runtime.ensureImage(this.#image, signalOption(signal));
      await this.#removeAbandonedHelpers(signal);
      let id: string;
      try {
        id = await this.#runtime.create(config, options);
      } catch (err) {
        if (!(err instanceof BerthError && err.code === "CONFLICT")) throw err;
        const holder = await this.#runtime.inspect(this.#helperName, signalOption(signal));
        if (holder?.labels[LABEL_HELPER] !== "true") throw err;
        throw new BerthError(
          "CONFLICT",
          `another berth run (${
            holder.labels[LABEL_HELPER_OWNER] ?? "unknown"
          }) is using the helper container "${this.#helperName}": wait for it to finish`,
          { cause: err },
        );
      }
      if (this.#runtime.filesNeedRunningContainer) await this.#runtime.start(id, signalOption(signal));
      return id;
    } catch (err) {
      throw withContext(err, doing);
    }
  }
}

function writeKey(file: FileToWrite): string {
  const content = typeof file.content === "string" ? file.content : Buffer.from(file.content).toString("base64");
  return JSON.stringify([file.path, content, file.mode, file.uid, file.gid]);
}

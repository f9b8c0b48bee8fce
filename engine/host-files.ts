/**
 * Files on a host, through the channel the runtime provides (the local file
 * system, SFTP on the SSH connection). Where there is none (an engine reached
 * over the network) or the channel's user may not touch a path, a
 * short-lived helper container does it instead: it mounts only the top-level
 * directories of the paths it handles (never `/`), read-only when it only
 * reads, and is removed at once. What a run has asked of or written to the
 * host is remembered for that run, so containers sharing a file cost one
 * request, not one each.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { BerthError, withContext } from "../core/errors.ts";
import { FILE_HELPER_PREFIX } from "../core/model.ts";
import type { FileRead, FileToWrite, HostFileSystem, PathInfo } from "../transports/file-system.ts";
import type { Runtime } from "../runtimes/runtime.ts";
import { ownerIsGone, processOwner } from "../platform/process.ts";
import { LABEL_HELPER, LABEL_HELPER_OWNER, LABEL_MANAGED, type ObservedContainer } from "../runtimes/runtime.ts";
import { signalOption } from "../core/signal.ts";

/** Where the helper container sees the host's directories. */
export const CONFIG_MOUNTPOINT = "/mnt/host";

/** What a read-only look at a host found: content, or why it is unknown until apply. */
export interface HostLook {
  /** path -> content (`null`: missing). */
  files: Map<string, string | null>;
  /** directory -> what is there. */
  dirs: Map<string, "directory" | "file" | "missing">;
  /** path or directory -> why it could not be read without changing the host. */
  unknown: Map<string, string>;
}

/** File operations on one host, with host paths. */
export class HostFiles {
  readonly #runtime: Runtime;
  readonly #channel: HostFileSystem | undefined;
  readonly #hostLabel: string;
  readonly #image: string;
  /** What this run has read from the host, per path (undefined: missing). */
  readonly #contents = new Map<string, Promise<FileRead | undefined>>();
  /** What this run has found at paths on the host (undefined: missing). */
  readonly #infos = new Map<string, Promise<PathInfo | undefined>>();
  /** Writes of this run, by path and content: containers sharing a file write it once. */
  readonly #writes = new Map<string, Promise<void>>();

  /**
   * @param runtime The runtime of the host; its `hostFiles` is the file channel.
   * @param helperImage The image of the fallback helper (an image the host needs anyway).
   */
  constructor(runtime: Runtime, hostLabel: string, helperImage: string) {
    this.#runtime = runtime;
    this.#channel = runtime.hostFiles;
    this.#hostLabel = hostLabel;
    this.#image = helperImage;
  }

  /**
   * Reads files and looks at directories without changing anything on the
   * host: what only a helper container could read is reported as unknown.
   */
  async look(paths: string[], dirs: string[], signal?: AbortSignal): Promise<HostLook> {
    const look: HostLook = { files: new Map(), dirs: new Map(), unknown: new Map() };
    if (paths.length === 0 && dirs.length === 0) return look;
    const channel = this.#channel;
    if (channel === undefined) {
      const why = "unknown until apply: the engine is reached over the network, so only a helper container " +
        "can read its host's files and a plan creates none";
      for (const p of [...paths, ...dirs.map((d) => `${d}/`)]) look.unknown.set(p, why);
      return look;
    }
    const denied = (err: unknown) => `unknown until apply: ${err instanceof Error ? err.message : String(err)}`;
    const opts = signalOption(signal);
    // One batch to the host: every read and stat goes out together.
    await Promise.all([
      ...paths.map(async (path) => {
        try {
          const [file] = await channel.read([path], opts);
          look.files.set(path, file === undefined ? null : new TextDecoder().decode(file.content));
        } catch (err) {
          if (!isDenied(err)) throw withContext(err, `reading files on host ${this.#hostLabel}`);
          look.unknown.set(path, denied(err));
        }
      }),
      ...dirs.map(async (dir) => {
        try {
          const [info] = await channel.stat([dir], opts);
          look.dirs.set(dir, info === undefined ? "missing" : info.isDirectory ? "directory" : "file");
        } catch (err) {
          if (!isDenied(err)) throw withContext(err, `checking paths on host ${this.#hostLabel}`);
          look.unknown.set(`${dir}/`, denied(err));
        }
      }),
    ]);
    return look;
  }

  /** Writes files (host paths) in one batch. A file already written with the same content in this run is not sent again. */
  async write(files: FileToWrite[], signal?: AbortSignal): Promise<void> {
    const todo = files.filter((f) => !this.#writes.has(writeKey(f)));
    if (todo.length > 0) {
      const doing = `writing ${todo.map((f) => `"${f.path}"`).join(", ")} on host ${this.#hostLabel}`;
      const done = this.#either(
        doing,
        (fs) => fs.write(todo, signalOption(signal)),
        todo.map((f) => f.path),
        false,
        (id) => this.#runtime.writeFiles(id, todo.map((f) => ({ ...f, path: inHelper(f.path) })), signalOption(signal)),
        signal,
      );
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
    return this.#lookUp(
      this.#contents,
      paths,
      `reading files on host ${this.#hostLabel}`,
      (fs, missing) => fs.read(missing, signalOption(signal)),
      (id, inside) => this.#runtime.readFiles(id, inside, signalOption(signal)),
      signal,
    );
  }

  /** Stats host paths (a final symlink is reported, not followed); a missing path is absent from the map. */
  stat(paths: string[], signal?: AbortSignal): Promise<Map<string, PathInfo>> {
    return this.#lookUp(
      this.#infos,
      paths,
      `checking paths on host ${this.#hostLabel}`,
      (fs, missing) => fs.stat(missing, signalOption(signal)),
      (id, inside) => this.#runtime.stat(id, inside, signalOption(signal)),
      signal,
    );
  }

  /**
   * Asks the host once per run about the paths not asked yet: through its file
   * channel, or a read-only helper (which sees them under its mount point).
   */
  #lookUp<T extends { path: string }>(
    known: Map<string, Promise<T | undefined>>,
    paths: string[],
    doing: string,
    direct: (fs: HostFileSystem, missing: string[]) => Promise<T[]>,
    viaHelper: (helperId: string, inside: string[]) => Promise<T[]>,
    signal?: AbortSignal,
  ): Promise<Map<string, T>> {
    return this.#memo(known, paths, async (missing) => {
      const found = await this.#either(
        doing,
        (fs) => direct(fs, missing),
        missing,
        true,
        async (id) =>
          (await viaHelper(id, missing.map(inHelper))).map((item) => ({ ...item, path: fromHelper(item.path) })),
        signal,
      );
      return new Map(found.map((item) => [item.path, item]));
    });
  }

  /** Creates directories (mode 0700) with their parents. */
  async mkdir(paths: string[], signal?: AbortSignal): Promise<void> {
    if (paths.length === 0) return;
    this.#infos.clear();
    await this.#either(
      `creating directories ${paths.map((p) => `"${p}"`).join(", ")} on host ${this.#hostLabel}`,
      (fs) => fs.mkdir(paths, { mode: 0o700, ...signalOption(signal) }),
      paths,
      false,
      (id) => this.#runtime.mkdir(id, paths.map(inHelper), { mode: 0o700, ...signalOption(signal) }),
      signal,
    );
  }

  /** Through the channel; through a helper where there is none or its user may not. */
  async #either<T>(
    doing: string,
    direct: (fs: HostFileSystem) => Promise<T>,
    paths: string[],
    readOnly: boolean,
    viaHelper: (helperId: string) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      if (this.#channel !== undefined) {
        try {
          return await direct(this.#channel);
        } catch (err) {
          if (!isDenied(err)) throw err;
        }
      }
      return await this.#withHelper(paths, readOnly, viaHelper, signal);
    } catch (err) {
      throw withContext(err, doing);
    }
  }

  /** Runs `fn` with a fresh helper container that mounts the top-level directories of `paths`; always removes it. */
  async #withHelper<T>(
    paths: string[],
    readOnly: boolean,
    fn: (id: string) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const name = `${FILE_HELPER_PREFIX}${randomBytes(6).toString("hex")}`;
    const tops = [...new Set(paths.map(topDirectory))].sort();
    const config = {
      name,
      image: this.#image,
      // Only started by runtimes whose file operations need a running container.
      entrypoint: ["sleep"],
      args: ["3600"],
      mounts: tops.map((top) => ({ source: top, target: inHelper(top) })),
    };
    const labels = { [LABEL_MANAGED]: "true", [LABEL_HELPER]: "true", [LABEL_HELPER_OWNER]: processOwner() };
    const opts = signalOption(signal);
    let id: string;
    try {
      await this.#runtime.ensureImage(this.#image, opts);
      await removeAbandonedHelpers(this.#runtime, await this.#runtime.list({ [LABEL_HELPER]: "true" }, opts), opts);
      id = await this.#runtime.create(config, { labels, restartPolicy: "no", readOnlyMounts: readOnly, ...opts });
    } catch (err) {
      throw withContext(err, `creating helper container "${name}" on host ${this.#hostLabel}`);
    }
    try {
      if (this.#runtime.filesNeedRunningContainer) await this.#runtime.start(id, opts);
      return await fn(id);
    } finally {
      await this.#runtime.remove(id, { force: true, signal: AbortSignal.timeout(30_000) }).catch(() => {});
    }
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
}

/**
 * Removes helper containers left by a run that was killed (its process is
 * gone); others are in use. Failures are left for the next run.
 *
 * @param containers Containers of the host, as listed (only helpers are looked at).
 */
export async function removeAbandonedHelpers(
  runtime: Runtime,
  containers: ObservedContainer[],
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const abandoned = containers.filter((c) =>
    c.labels[LABEL_HELPER] === "true" && ownerIsGone(c.labels[LABEL_HELPER_OWNER])
  );
  await Promise.all(abandoned.map((c) => runtime.remove(c.id, { force: true, ...options }).catch(() => {})));
}

/** The channel's user may not do it (or there is no SFTP on the server): the helper may. */
function isDenied(err: unknown): boolean {
  return err instanceof BerthError && err.code === "PERMISSION";
}

/** `/etc` for `/etc/app/x.conf`: what the helper mounts; `/` itself never. */
function topDirectory(path: string): string {
  const top = path.split("/").find((part) => part !== "");
  if (top === undefined) throw new BerthError("UNSAFE_PATH", `path "${path}" names the root directory`);
  return `/${top}`;
}

function inHelper(path: string): string {
  return CONFIG_MOUNTPOINT + path;
}

function fromHelper(path: string): string {
  return path.slice(CONFIG_MOUNTPOINT.length);
}

function writeKey(file: FileToWrite): string {
  const content = typeof file.content === "string" ? file.content : Buffer.from(file.content).toString("base64");
  return JSON.stringify([file.path, content, file.mode, file.uid, file.gid]);
}

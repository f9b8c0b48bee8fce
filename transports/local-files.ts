/**
 * The local file system as a {@link HostFileSystem}: the files of a host
 * reached with the `direct` transport.
 *
 * @module
 */
import { chown, lstat, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { BerthError } from "../core/errors.ts";
import { type FileRead, type HostFileSystem, parentsOf, type PathInfo, temporaryName } from "./file-system.ts";

/**
 * Creates the file access of this machine.
 *
 * @example
 * ```ts
 * import { localFiles } from "./local-files.ts";
 * const [info] = await localFiles().stat(["/"]);
 * if (info?.isDirectory !== true) throw new Error("unexpected");
 * ```
 */
export function localFiles(): HostFileSystem {
  return {
    async stat(paths) {
      const found = await Promise.all(paths.map(async (path) => {
        const info = await lstat(path).catch(missingOr(`checking "${path}"`));
        return info === undefined ? undefined : {
          path,
          mode: info.mode & 0o7777,
          isDirectory: info.isDirectory(),
          isSymlink: info.isSymbolicLink(),
          size: info.size,
        };
      }));
      return found.filter((info): info is PathInfo => info !== undefined);
    },

    async read(paths) {
      const found = await Promise.all(paths.map(async (path): Promise<FileRead | undefined> => {
        const info = await lstat(path).catch(missingOr(`reading "${path}"`));
        if (info === undefined) return undefined;
        const content = await readFile(path).catch(missingOr(`reading "${path}"`));
        if (content === undefined) return undefined;
        return { path, content: new Uint8Array(content), mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
      }));
      return found.filter((file): file is FileRead => file !== undefined);
    },

    async write(files) {
      for (const file of files) {
        const doing = `writing "${file.path}"`;
        await mkdir(parentOf(file.path), { recursive: true, mode: 0o755 }).catch(failure(doing));
        const temporary = temporaryName(file.path);
        try {
          // "wx": a fresh file, never an existing one or a symlink's target.
          const handle = await open(temporary, "wx", 0o600);
          try {
            await handle.writeFile(file.content);
            await handle.chown(file.uid ?? 0, file.gid ?? 0);
            await handle.chmod(file.mode ?? 0o600);
          } finally {
            await handle.close();
          }
          await rename(temporary, file.path);
        } catch (err) {
          await rm(temporary, { force: true }).catch(() => {});
          throw failure(doing)(err);
        }
      }
    },

    async mkdir(paths, options = {}) {
      for (const path of paths) {
        const doing = `creating directory "${path}"`;
        for (const parent of parentsOf(path)) {
          await mkdir(parent, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== "EEXIST") throw failure(doing)(err);
          });
        }
        await mkdir(path, { mode: options.mode ?? 0o700 }).then(
          () => chown(path, 0, 0).catch(() => {}), // owned by root when berth runs as root
          async (err: NodeJS.ErrnoException) => {
            if (err.code !== "EEXIST") throw failure(doing)(err);
            if (!(await lstat(path)).isDirectory()) {
              throw new BerthError("CONFLICT", `${doing}: it exists and is not a directory`);
            }
          },
        );
      }
    },
  };
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** A missing path reads as undefined; any other failure is an error naming the path. */
function missingOr(doing: string): (err: NodeJS.ErrnoException) => undefined {
  return (err) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
    throw failure(doing)(err);
  };
}

/** A file-system error as a BerthError; EACCES and EPERM become `PERMISSION`. */
export function failure(doing: string): (err: unknown) => BerthError {
  return (err) => {
    const code = (err as NodeJS.ErrnoException).code;
    const message = err instanceof Error ? err.message : String(err);
    return new BerthError(
      code === "EACCES" || code === "EPERM" ? "PERMISSION" : "ENGINE",
      `${doing}: ${message}`,
      { cause: err },
    );
  };
}

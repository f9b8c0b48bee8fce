/**
 * A host's files over SFTP, on the SSH connection berth already has: no
 * helper container and no shell. Requests of a batch are sent together and
 * answered in one round of the session.
 *
 * @module
 */
import type { SFTPWrapper, Stats } from "ssh2";
import { BerthError } from "../../core/errors.ts";
import {
  type FileRead,
  type FileToWrite,
  type HostFileSystem,
  parentsOf,
  type PathInfo,
  temporaryName,
} from "../file-system.ts";

/** SFTP status codes (draft-ietf-secsh-filexfer-02) berth tells apart. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
/** The mode bits of a file type in `Stats.mode`. */
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * File access through SFTP sessions handed out by `session` (the same one
 * for a whole run; a new one after the connection was lost).
 *
 * @param session The SFTP session of the connection, opened on first use.
 * @param via The server, for messages (`root@10.0.0.2:22`).
 */
export function sftpFiles(session: () => Promise<SFTPWrapper>, via: string): HostFileSystem {
  const call = <T>(doing: string, fn: (sftp: SFTPWrapper, done: (err: unknown, value?: T) => void) => void) =>
    session().then((sftp) =>
      new Promise<T>((resolve, reject) =>
        fn(sftp, (err, value) => (err ? reject(failure(`${doing} over SFTP to ${via}`, err)) : resolve(value as T)))
      )
    );
  const lstat = (path: string, doing: string) => call<Stats>(doing, (s, done) => s.lstat(path, done)).catch(missing);

  async function makeDirectory(path: string, mode: number, doing: string): Promise<void> {
    try {
      await call<void>(doing, (s, done) => s.mkdir(path, { mode }, done));
    } catch (err) {
      // SFTP says "failure" for an existing path: look at what is there.
      const info = await lstat(path, doing);
      if (info === undefined) throw err;
      if ((info.mode & S_IFMT) !== S_IFDIR) {
        throw new BerthError("CONFLICT", `${doing} over SFTP to ${via}: it exists and is not a directory`);
      }
    }
  }

  /** Creates the missing parents of `path` (0755); the usual case, an existing parent, costs one request. */
  async function makeParents(path: string, doing: string): Promise<void> {
    const parents = parentsOf(path);
    if (parents.length === 0 || (await lstat(parents.at(-1) as string, doing)) !== undefined) return;
    for (const parent of parents) {
      if ((await lstat(parent, doing)) === undefined) await makeDirectory(parent, 0o755, doing);
    }
  }

  async function writeOne(file: FileToWrite): Promise<void> {
    const doing = `writing "${file.path}"`;
    await makeParents(file.path, doing);
    const temporary = temporaryName(file.path);
    const content = Buffer.from(file.content);
    // "wx": a fresh file, never an existing one or a symlink's target.
    const handle = await call<Buffer>(doing, (s, done) => s.open(temporary, "wx", { mode: 0o600 }, done));
    try {
      // Sent together: the server answers them in order, in one round trip.
      const steps = await Promise.allSettled([
        call<void>(doing, (s, done) => s.write(handle, content, 0, content.length, 0, done)),
        call<void>(doing, (s, done) => s.fchown(handle, file.uid ?? 0, file.gid ?? 0, done)),
        call<void>(doing, (s, done) => s.fchmod(handle, file.mode ?? 0o600, done)),
        call<void>(doing, (s, done) => s.close(handle, done)),
      ]);
      const failed = steps.find((step): step is PromiseRejectedResult => step.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      // posix-rename@openssh.com replaces the target in one step (plain SFTP rename refuses an existing one).
      await call<void>(doing, (s, done) => s.ext_openssh_rename(temporary, file.path, done));
    } catch (err) {
      await call<void>(doing, (s, done) => s.unlink(temporary, done)).catch(() => {});
      throw err;
    }
  }

  return {
    async stat(paths) {
      const found = await Promise.all(paths.map(async (path): Promise<PathInfo | undefined> => {
        const info = await lstat(path, `checking "${path}"`);
        return info === undefined ? undefined : {
          path,
          mode: info.mode & 0o7777,
          isDirectory: (info.mode & S_IFMT) === S_IFDIR,
          isSymlink: (info.mode & S_IFMT) === S_IFLNK,
          size: info.size,
        };
      }));
      return found.filter((info): info is PathInfo => info !== undefined);
    },

    async read(paths) {
      const found = await Promise.all(paths.map(async (path): Promise<FileRead | undefined> => {
        const doing = `reading "${path}"`;
        const info = await lstat(path, doing);
        if (info === undefined) return undefined;
        const content = await call<Buffer>(doing, (s, done) => s.readFile(path, done)).catch(missing);
        if (content === undefined) return undefined;
        return { path, content: new Uint8Array(content), mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
      }));
      return found.filter((file): file is FileRead => file !== undefined);
    },

    async write(files) {
      await Promise.all(files.map(writeOne));
    },

    async mkdir(paths, options = {}) {
      for (const path of paths) {
        const doing = `creating directory "${path}"`;
        await makeParents(path, doing);
        await makeDirectory(path, options.mode ?? 0o700, doing);
      }
    },
  };
}

/** A missing path reads as undefined. */
function missing(err: unknown): undefined {
  if (err instanceof BerthError && (err.cause as { code?: unknown } | undefined)?.code === NO_SUCH_FILE) {
    return undefined;
  }
  throw err;
}

function failure(doing: string, err: unknown): BerthError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof BerthError) return err;
  return new BerthError(code === PERMISSION_DENIED ? "PERMISSION" : "ENGINE", `${doing}: ${message}`, { cause: err });
}

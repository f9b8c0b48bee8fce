/**
 * The file seam: a host's files as berth reads and writes them (config files,
 * directory mounts), whatever channel reaches them. A transport provides one
 * for the machine it reaches (the local file system, SFTP over SSH); the
 * engine falls back to a helper container where none reaches the engine's
 * host. Paths are absolute host paths.
 *
 * @module
 */

/** A file to write. */
export interface FileToWrite {
  /** Absolute path of the file. */
  path: string;
  /** Its bytes, or text (written as UTF-8). */
  content: Uint8Array | string;
  /** Permission bits; default 0o600. */
  mode?: number;
  /** Owner user id; 0 (root) when not set. */
  uid?: number;
  /** Owner group id; 0 (root) when not set. */
  gid?: number;
}

/** A file read back. */
export interface FileRead {
  /** Its path, as asked for. */
  path: string;
  /** Its bytes. */
  content: Uint8Array;
  /** Permission bits (the 0o7777 part). */
  mode: number;
  /** Owner user id. */
  uid: number;
  /** Owner group id. */
  gid: number;
}

/** What stat reports for an existing path (never following a symlink at the path itself). */
export interface PathInfo {
  /** The path, as asked for. */
  path: string;
  /** Permission bits (0o7777 part). */
  mode: number;
  /** A directory (false for a symlink to one). */
  isDirectory: boolean;
  /** A symlink (not followed). */
  isSymlink: boolean;
  /** Size in bytes. */
  size: number;
}

/** Options of every file call. */
export interface FileCallOptions {
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
}

/**
 * File operations on one host. A path the channel's user may not touch fails
 * with code `PERMISSION`, so that the caller can take another road.
 */
export interface HostFileSystem {
  /** Stats paths without following a final symlink; a missing path is absent from the result. */
  stat(paths: string[], options?: FileCallOptions): Promise<PathInfo[]>;
  /** Reads files; a missing path is absent from the result. */
  read(paths: string[], options?: FileCallOptions): Promise<FileRead[]>;
  /**
   * Writes each file atomically (a temporary file beside it, mode and owner
   * set, then renamed over it); missing parents are created (0755). A
   * symlink at the path is replaced, never followed.
   */
  write(files: FileToWrite[], options?: FileCallOptions): Promise<void>;
  /** Creates directories and their parents; the last component gets `mode`. An existing directory is left as is. */
  mkdir(paths: string[], options?: FileCallOptions & { mode?: number }): Promise<void>;
}

/** The name of the temporary file a write goes through, beside its target. */
export function temporaryName(path: string): string {
  const slash = path.lastIndexOf("/");
  const random = Math.random().toString(36).slice(2, 10);
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.berth-${random}.tmp`;
}

/** Every parent directory of an absolute path, outermost first, `/` excluded. */
export function parentsOf(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "");
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}

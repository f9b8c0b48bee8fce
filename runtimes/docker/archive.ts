/**
 * Tar archives for the engine's archive endpoints: packing files and
 * directories for an upload to `/`, reading one file back, and decoding the
 * path-stat header.
 *
 * @module
 */
import { posix } from "node:path";
import * as tar from "tar-stream";
import { BerthError } from "../../core/errors.ts";
import type { FileToWrite, PathInfo } from "../runtime.ts";

const SLICE = 64 * 1024;

/**
 * Checks an absolute container path and returns it relative to `/`.
 *
 * @throws {BerthError} UNSAFE_PATH when the path is relative or has `..`.
 */
export function relativeToRoot(path: string): string {
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new BerthError("UNSAFE_PATH", `path "${path}" must be absolute and without ".."`);
  }
  return posix.normalize(path).replace(/^\/+|\/+$/g, "");
}

/** A directory to create in an upload. */
export interface DirectoryToCreate {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Packs directories and files into a tar stream rooted at `/`. The stream is
 * produced as it is read, so a large file is sent without a second copy.
 * Missing parent directories are created by the engine (0755, root).
 */
export function packEntries(directories: DirectoryToCreate[], files: FileToWrite[]): AsyncIterable<Uint8Array> {
  // Names are checked before anything is sent.
  const dirNames = directories.map((dir) => relativeToRoot(dir.path));
  const fileNames = files.map((file) => relativeToRoot(file.path));
  const pack = tar.pack();
  const mtime = new Date();
  (async () => {
    for (const [i, dir] of directories.entries()) {
      await addEntry(pack, { name: dirNames[i] as string, type: "directory", mode: dir.mode, uid: dir.uid ?? 0, gid: dir.gid ?? 0, mtime });
    }
    for (const [i, file] of files.entries()) {
      const content = typeof file.content === "string" ? Buffer.from(file.content) : Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
      const header = { name: fileNames[i] as string, type: "file" as const, size: content.length, mode: file.mode ?? 0o600, uid: file.uid ?? 0, gid: file.gid ?? 0, mtime };
      await addEntry(pack, header, content);
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as AsyncIterable<Uint8Array>;
}

/** Adds one entry, writing file content in slices so the pack stream applies back-pressure. */
function addEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, content?: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (content === undefined) return;
    let offset = 0;
    const writeMore = () => {
      while (offset < content.length) {
        const slice = content.subarray(offset, offset + SLICE);
        offset += slice.length;
        if (!sink.write(slice)) return void sink.once("drain", writeMore);
      }
      sink.end(undefined);
    };
    writeMore();
  });
}

/**
 * Reads the single regular file of a `GET archive` response for `path`.
 * The content buffer is allocated once at the size the header announces.
 *
 * @throws {BerthError} UNSAFE_PATH for absolute, `..` or link entries; BAD_PARAMETER when the path is a directory.
 */
export async function readSingleFile(body: AsyncIterable<Uint8Array>, path: string): Promise<{ content: Uint8Array; mode: number; uid: number; gid: number }> {
  const extract = tar.extract();
  const feeding = (async () => {
    try {
      for await (const chunk of body) {
        if (extract.destroyed) return;
        if (!extract.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              extract.off("drain", done);
              extract.off("close", done);
              resolve();
            };
            extract.on("drain", done);
            extract.on("close", done);
          });
        }
      }
      extract.end(undefined);
    } catch (err) {
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  let result: { content: Uint8Array; mode: number; uid: number; gid: number } | undefined;
  try {
    for await (const entry of extract) {
      const header = entry.header;
      if (header.name.startsWith("/") || header.name.split("/").includes("..")) {
        throw new BerthError("UNSAFE_PATH", `reading "${path}": archive entry "${header.name}" escapes the target`);
      }
      if (header.type === "symlink" || header.type === "link") {
        throw new BerthError("UNSAFE_PATH", `reading "${path}": it is a link to "${header.linkname ?? ""}"; berth reads regular files only`);
      }
      if (header.type === "directory") throw new BerthError("BAD_PARAMETER", `reading "${path}": it is a directory`);
      if (result !== undefined || (header.type !== "file" && header.type !== "contiguous-file")) {
        throw new BerthError("BAD_PARAMETER", `reading "${path}": unexpected archive entry "${header.name}" (${header.type ?? "unknown"})`);
      }
      const content = new Uint8Array(header.size ?? 0);
      let offset = 0;
      for await (const chunk of entry as AsyncIterable<Uint8Array>) {
        if (offset + chunk.length > content.length) throw new BerthError("ENGINE", `reading "${path}": archive entry larger than announced`);
        content.set(chunk, offset);
        offset += chunk.length;
      }
      result = { content, mode: (header.mode ?? 0) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0 };
    }
  } finally {
    await feeding;
  }
  if (result === undefined) throw new BerthError("ENGINE", `reading "${path}": the archive holds no file`);
  return result;
}

// Go's os.FileMode bits, as the engine reports them.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_STICKY = 2 ** 20;

/**
 * Decodes the `X-Docker-Container-Path-Stat` header (base64 JSON with a Go file mode).
 *
 * @example
 * ```ts
 * import { decodePathStat } from "./archive.ts";
 * const header = btoa(JSON.stringify({ name: "tmp", size: 4096, mode: 2 ** 31 + 2 ** 20 + 0o777 }));
 * const info = decodePathStat("/tmp", header);
 * if (!info.isDirectory || info.mode !== 0o1777) throw new Error("wrong");
 * ```
 */
export function decodePathStat(path: string, header: string): PathInfo {
  let stat: { size?: number; mode?: number };
  try {
    stat = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as typeof stat;
  } catch (err) {
    throw new BerthError("ENGINE", `stat of "${path}": unreadable path-stat header`, { cause: err });
  }
  const goMode = stat.mode ?? 0;
  const bit = (flag: number) => Math.floor(goMode / flag) % 2 === 1;
  const mode = (goMode % 0o1000) | (bit(GO_SETUID) ? 0o4000 : 0) | (bit(GO_SETGID) ? 0o2000 : 0) | (bit(GO_STICKY) ? 0o1000 : 0);
  return { path, mode, isDirectory: bit(GO_DIR), isSymlink: bit(GO_SYMLINK), size: stat.size ?? 0 };
}

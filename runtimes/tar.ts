/**
 * Tar archives as both runtime plugins use them: packing files and
 * directories rooted at `/` for an upload, and reading a file entry back
 * with the checks that keep an archive from a container from pointing
 * anywhere else.
 *
 * @module
 */
import { posix } from "node:path";
import * as tar from "tar-stream";
import { BerthError } from "../core/errors.ts";
import type { FileToWrite } from "./runtime.ts";

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
      await addEntry(pack, {
        name: dirNames[i] as string,
        type: "directory",
        mode: dir.mode,
        uid: dir.uid ?? 0,
        gid: dir.gid ?? 0,
        mtime,
      });
    }
    for (const [i, file] of files.entries()) {
      const content = typeof file.content === "string"
        ? Buffer.from(file.content)
        : Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength);
      const header = {
        name: fileNames[i] as string,
        type: "file" as const,
        size: content.length,
        mode: file.mode ?? 0o600,
        uid: file.uid ?? 0,
        gid: file.gid ?? 0,
        mtime,
      };
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
 * Refuses an entry that is absolute, has `..`, or is a link: what a
 * container hands back must not point anywhere else.
 *
 * @throws {BerthError} UNSAFE_PATH.
 */
export function assertSafeEntry(path: string, name: string, header: tar.Header): void {
  if (name.startsWith("/") || name.split("/").includes("..")) {
    throw new BerthError("UNSAFE_PATH", `reading "${path}": archive entry "${name}" escapes the target`);
  }
  if (header.type === "symlink" || header.type === "link") {
    throw new BerthError(
      "UNSAFE_PATH",
      `reading "${path}": it is a link to "${header.linkname ?? ""}"; berth reads regular files only`,
    );
  }
}

/**
 * Checks one entry of an archive read back from a container and collects its
 * content (allocated once, at the size the header announces).
 *
 * @param path The path that was asked for, for messages.
 * @param name The entry's name as the archive has it.
 * @throws {BerthError} UNSAFE_PATH for absolute, `..` or link entries; BAD_PARAMETER for a directory or another type.
 */
export async function readFileEntry(
  path: string,
  name: string,
  entry: AsyncIterable<unknown> & { header: tar.Header },
): Promise<{ content: Uint8Array; mode: number; uid: number; gid: number }> {
  const header = entry.header;
  assertSafeEntry(path, name, header);
  if (header.type === "directory") throw new BerthError("BAD_PARAMETER", `reading "${path}": it is a directory`);
  if (header.type !== "file" && header.type !== "contiguous-file") {
    throw new BerthError(
      "BAD_PARAMETER",
      `reading "${path}": unexpected archive entry "${name}" (${header.type ?? "unknown"})`,
    );
  }
  const content = new Uint8Array(header.size ?? 0);
  let offset = 0;
  for await (const chunk of entry as AsyncIterable<Uint8Array>) {
    if (offset + chunk.length > content.length) {
      throw new BerthError("ENGINE", `reading "${path}": archive entry larger than announced`);
    }
    content.set(chunk, offset);
    offset += chunk.length;
  }
  return { content, mode: (header.mode ?? 0) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0 };
}

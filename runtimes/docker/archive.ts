/**
 * The engine's archive endpoints: reading one file back from a `GET
 * archive` response and decoding the path-stat header (packing is in
 * `runtimes/tar.ts`).
 *
 * @module
 */
import * as tar from "tar-stream";
import { BerthError } from "../../core/errors.ts";
import type { PathInfo } from "../runtime.ts";
import { assertSafeEntry, readFileEntry } from "../tar.ts";

/**
 * Reads the single regular file of a `GET archive` response for `path`.
 * The content buffer is allocated once at the size the header announces.
 *
 * @throws {BerthError} UNSAFE_PATH for absolute, `..` or link entries; BAD_PARAMETER when the path is a directory.
 */
export async function readSingleFile(
  body: AsyncIterable<Uint8Array>,
  path: string,
): Promise<{ content: Uint8Array; mode: number; uid: number; gid: number }> {
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
  let result: Awaited<ReturnType<typeof readFileEntry>> | undefined;
  try {
    for await (const entry of extract) {
      if (result !== undefined) {
        assertSafeEntry(path, entry.header.name, entry.header);
        throw new BerthError(
          "BAD_PARAMETER",
          `reading "${path}": unexpected second archive entry "${entry.header.name}"`,
        );
      }
      result = await readFileEntry(path, entry.header.name, entry);
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
  const mode = (goMode % 0o1000) | (bit(GO_SETUID) ? 0o4000 : 0) | (bit(GO_SETGID) ? 0o2000 : 0) |
    (bit(GO_STICKY) ? 0o1000 : 0);
  return { path, mode, isDirectory: bit(GO_DIR), isSymlink: bit(GO_SYMLINK), size: stat.size ?? 0 };
}

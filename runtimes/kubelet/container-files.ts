/**
 * File operations inside a running container by exec'ing standard tools:
 * `tar` (write, read), `stat`, `mkdir`/`chmod`, all run by `sh`. Writes and
 * reads stream tar archives over the exec WebSocket; stat and mkdir use
 * ExecSync.
 *
 * @module
 */
import * as tar from "tar-stream";
import { BerthError } from "../../core/errors.ts";
import type { FileRead, FileToWrite, PathInfo } from "../runtime.ts";
import { packEntries, readFileEntry, relativeToRoot } from "../tar.ts";
import type { ExecResult } from "./exec-stream.ts";

/** How commands reach the container. */
export interface ContainerExec {
  /** ExecSync: small outputs (stat, mkdir). */
  run(cmd: string[], signal?: AbortSignal): Promise<ExecResult>;
  /** Exec over the stream: large input or output. */
  stream(cmd: string[], stdin: Uint8Array | undefined, signal?: AbortSignal): Promise<ExecResult>;
}

/** The tools the file operations need in the image. */
export const REQUIRED_TOOLS = ["sh", "tar", "head", "stat", "mkdir", "chmod"];

/**
 * Names the tools missing from the container (empty when all are there).
 * A missing `sh` shows as an exec failure, reported as `sh`.
 */
export async function missingTools(exec: ContainerExec, signal?: AbortSignal): Promise<string[]> {
  const others = REQUIRED_TOOLS.filter((t) => t !== "sh");
  let result: ExecResult;
  try {
    result = await exec.run([
      "sh",
      "-c",
      `for t in ${others.join(" ")}; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done`,
    ], signal);
  } catch (err) {
    if (err instanceof BerthError && /executable file not found|no such file/i.test(err.message)) return ["sh"];
    throw err;
  }
  if (result.exitCode !== 0) return ["sh"];
  return new TextDecoder().decode(result.stdout).split("\n").filter((t) => t !== "");
}

/** Writes files in one tar archive, extracted at `/`; parent directories are created. */
export async function writeFiles(exec: ContainerExec, files: FileToWrite[], signal?: AbortSignal): Promise<void> {
  const archive = await collect(packEntries([], files));
  // v4 exec streams cannot close stdin: `head` stops at the archive's exact length.
  const result = await exec.stream(["sh", "-c", `head -c ${archive.length} | tar -xf - -C /`], archive, signal);
  check(result, "tar -x");
}

/** Reads regular files; a missing path is absent from the result. */
export async function readFiles(exec: ContainerExec, paths: string[], signal?: AbortSignal): Promise<FileRead[]> {
  const relative = paths.map((p) => `./${relativeToRoot(p)}`);
  // Only existing paths go to tar, so a missing one is not an error.
  const script =
    'cd / || exit 1; n=$#; for p do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi; done; shift $n; [ $# -eq 0 ] && exit 0; exec tar -cf - "$@"';
  const result = await exec.stream(["sh", "-c", script, "sh", ...relative], undefined, signal);
  check(result, "tar -c");
  if (result.stdout.length === 0) return [];
  const asAsked = new Map(relative.map((r, i) => [r.slice(1), paths[i] as string]));
  return (await readArchive(result.stdout)).map((f) => ({ ...f, path: asAsked.get(f.path) ?? f.path }));
}

/** Stats paths without following a final symlink; a missing path is absent. */
export async function statPaths(exec: ContainerExec, paths: string[], signal?: AbortSignal): Promise<PathInfo[]> {
  for (const p of paths) relativeToRoot(p);
  const script = 'for p do if [ -e "$p" ] || [ -L "$p" ]; then stat -c "%f %s" "$p" || exit 1; else echo -; fi; done';
  const result = await exec.run(["sh", "-c", script, "sh", ...paths], signal);
  check(result, "stat");
  const lines = new TextDecoder().decode(result.stdout).split("\n");
  const found: PathInfo[] = [];
  paths.forEach((path, i) => {
    const line = lines[i] ?? "";
    if (line === "-") return;
    const match = /^([0-9a-f]+) (\d+)$/.exec(line);
    if (match === null) throw new BerthError("ENGINE", `stat of "${path}": unexpected output ${JSON.stringify(line)}`);
    const raw = parseInt(match[1] as string, 16);
    const type = raw & 0o170000;
    found.push({
      path,
      mode: raw & 0o7777,
      isDirectory: type === 0o040000,
      isSymlink: type === 0o120000,
      size: Number(match[2]),
    });
  });
  return found;
}

/**
 * Creates missing directories (parents 0755) and gives each the mode.
 *
 * @throws {BerthError} CONFLICT when a path exists and is not a directory.
 */
export async function makeDirectories(
  exec: ContainerExec,
  paths: string[],
  mode: number,
  signal?: AbortSignal,
): Promise<void> {
  for (const p of paths) relativeToRoot(p);
  const octal = mode.toString(8);
  const script =
    `umask 022; for p do if [ -d "$p" ]; then continue; fi; if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; exit 3; fi; mkdir -p "$p" && chmod ${octal} "$p" || exit 1; done`;
  const result = await exec.run(["sh", "-c", script, "sh", ...paths], signal);
  if (result.exitCode === 3) {
    const path = new TextDecoder().decode(result.stdout).trim();
    throw new BerthError("CONFLICT", `creating directory "${path}": it exists and is not a directory`);
  }
  check(result, "mkdir");
}

function check(result: ExecResult, what: string): void {
  if (result.exitCode === 0) return;
  const stderr = new TextDecoder().decode(result.stderr).trim();
  throw new BerthError("ENGINE", `${what} exited with code ${result.exitCode}${stderr === "" ? "" : `: ${stderr}`}`);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Regular files of a `tar -c` archive of `./`-relative paths. */
async function readArchive(bytes: Uint8Array): Promise<FileRead[]> {
  const extract = tar.extract();
  extract.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const files: FileRead[] = [];
  for await (const entry of extract) {
    const header = entry.header;
    const name = header.name.replace(/^\.\//, "");
    const path = `/${name}`.replace(/\/$/, "");
    files.push({ path, ...(await readFileEntry(path, header.name, entry)) });
  }
  return files;
}

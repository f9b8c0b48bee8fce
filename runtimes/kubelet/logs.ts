/**
 * Container output on CRI runtimes. The runtime writes what a container
 * prints to a file on its host, in the CRI log format: one line per line
 * printed, `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`, `P` marking
 * the pieces of a line too long for one entry. berth reads that file through
 * the runtime only: a short-lived reader container in the same sandbox, with
 * the log directory bind-mounted read-only, hands it out with `tar` over exec.
 * The runtime never deletes log files: a cleaner container, alike, deletes
 * the directory when berth removes the container.
 *
 * @module
 */
import type { ContainerConfig as CriContainerConfig } from "./cri-client.ts";

/** Label of the reader, cleaner and rotator containers, so they are never taken for the sandbox's own container. */
export const READER_LABEL = "berth.logs-reader";

/** Where the mounted directory appears inside the reader, cleaner or rotator. */
export const READER_MOUNT = "/berth-logs";

/** The output of a container, split by stream. */
export interface ContainerOutput {
  stdout: string;
  stderr: string;
}

/**
 * The reader container for the log file at `logPath` (absolute, on the host):
 * runs as root (the file is the runtime's, mode 0640) and stays up on a
 * `head -c 1` that waits on an open stdin, a tool the file operations already
 * need in the image.
 *
 * @returns The CRI container config, and the file's path inside the reader.
 *
 * @example
 * ```ts
 * import { readerConfig } from "./logs.ts";
 * const { config, path } = readerConfig("busybox", "/var/log/berth/web/0123.log");
 * if (path !== "/berth-logs/0123.log" || config.mounts?.[0]?.readonly !== true) throw new Error("wrong");
 * ```
 */
export function readerConfig(image: string, logPath: string): { config: CriContainerConfig; path: string } {
  const { parent, base } = splitPath(logPath);
  return { config: helperConfig(image, parent, true), path: `${READER_MOUNT}/${base}` };
}

/**
 * The cleaner container for the log directory `logDirectory` (absolute, on
 * the host), which the runtime never deletes: the reader's container with the
 * directory's parent mounted read-write, so that `rm -rf path` exec'd in it
 * deletes the directory itself.
 *
 * @returns The CRI container config, and the directory's path inside the cleaner.
 * @throws {Error} When the directory is `/` or ends in `.` or `..`.
 *
 * @example
 * ```ts
 * import { cleanerConfig } from "./logs.ts";
 * const { config, path } = cleanerConfig("busybox", "/var/log/berth/web");
 * if (path !== "/berth-logs/web" || config.mounts?.[0]?.hostPath !== "/var/log/berth" || config.mounts[0].readonly) throw new Error("wrong");
 * ```
 */
export function cleanerConfig(image: string, logDirectory: string): { config: CriContainerConfig; path: string } {
  const { parent, base } = splitPath(logDirectory.replace(/\/+$/, ""));
  if (base === "" || base === "." || base === "..") {
    throw new Error(`refusing to delete the log directory "${logDirectory}"`);
  }
  return { config: helperConfig(image, parent, false), path: `${READER_MOUNT}/${base}` };
}

/**
 * A log helper container: `hostDirectory` mounted at {@link READER_MOUNT}, run
 * as root; without `command` it stays up on a `head -c 1` that waits on an open stdin.
 */
export function helperConfig(
  image: string,
  hostDirectory: string,
  readonly: boolean,
  command?: string[],
  role = "true",
): CriContainerConfig {
  return {
    // A random attempt: concurrent helpers (and one left by a crash) never share a name.
    metadata: { name: "berth-logs", attempt: Math.floor(Math.random() * 2 ** 31) },
    image: { image },
    ...(command === undefined ? { command: ["head", "-c", "1"], stdin: true } : { command }),
    labels: { [READER_LABEL]: role },
    mounts: [{ hostPath: hostDirectory, containerPath: READER_MOUNT, readonly }],
    linux: { securityContext: { runAsUser: { value: 0 } } },
  };
}

function splitPath(path: string): { parent: string; base: string } {
  const slash = path.lastIndexOf("/");
  return { parent: path.slice(0, slash) || "/", base: path.slice(slash + 1) };
}

const LINE = /^(\S+) (stdout|stderr) (\S+)(?: (.*))?$/;

/**
 * Turns a CRI log file into stdout and stderr text: partial (`P`) entries are
 * joined with the rest of their line, a full (`F`) entry ends the line.
 * Unreadable lines (a write in progress) are skipped.
 *
 * @param text The log file's content.
 * @param tail Keep only the last `tail` lines, counted over both streams (as Docker does).
 * @param options `since`: only lines begun at or after this time (ms since the epoch); `timestamps`:
 *   each line starts with its time as the runtime wrote it and a space.
 * @returns The text of each stream, in the order it was printed.
 *
 * @example
 * ```ts
 * import { parseCriLog } from "./logs.ts";
 * const log = "2024-01-01T00:00:00.1Z stdout P hel\n2024-01-01T00:00:00.2Z stderr F oops\n2024-01-01T00:00:00.3Z stdout F lo\n";
 * const out = parseCriLog(log);
 * if (out.stdout !== "hello\n" || out.stderr !== "oops\n") throw new Error("wrong");
 * if (parseCriLog(log, 1).stderr !== "") throw new Error("tail counts lines of both streams");
 * ```
 */
export function parseCriLog(
  text: string,
  tail?: number,
  options: { since?: number; timestamps?: boolean } = {},
): ContainerOutput {
  const lines: Array<{ stream: "stdout" | "stderr"; text: string }> = [];
  const pending = { stdout: "", stderr: "" };
  /** When each stream's line in progress began: its first entry's time, as Docker dates a line. */
  const began = { stdout: "", stderr: "" };
  const line = (stream: "stdout" | "stderr", content: string) => {
    const time = began[stream];
    if (options.since !== undefined && !(Date.parse(time) >= options.since)) return;
    lines.push({ stream, text: options.timestamps === true ? `${time} ${content}` : content });
  };
  for (const raw of text.split("\n")) {
    const match = LINE.exec(raw);
    if (match === null) continue;
    const stream = match[2] as "stdout" | "stderr";
    const content = match[4] ?? "";
    if (pending[stream] === "") began[stream] = match[1] as string;
    if (match[3]?.split(":")[0] === "P") {
      pending[stream] += content;
      continue;
    }
    line(stream, `${pending[stream]}${content}\n`);
    pending[stream] = "";
  }
  // A line still being written.
  for (const stream of ["stdout", "stderr"] as const) {
    if (pending[stream] !== "") line(stream, pending[stream]);
  }
  const kept = tail === undefined ? lines : tail <= 0 ? [] : lines.slice(-tail);
  const output: ContainerOutput = { stdout: "", stderr: "" };
  for (const line of kept) output[line.stream] += line.text;
  return output;
}

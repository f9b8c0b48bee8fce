/**
 * Rotation of the log files the CRI runtime writes for berth's containers,
 * with json-file's settings (`max-size`, `max-file`; 10m and 3 when not set).
 *
 * berth is not a daemon and CRI runtimes rotate nothing (a kubelet does it
 * from its own loop), so rotation that only ran while berth runs would not
 * bound a chatty container between two applies. Instead each sandbox gets a
 * rotator: a helper container, started with the container, that checks the
 * file's size every second and, above `max-size`, copies it to `.1` (after
 * shifting `.1`... to `.2`..., keeping `max-file - 1` of them) and truncates
 * it. The runtime appends to the file (O_APPEND), so it goes on writing at
 * the new end. As with logrotate's copytruncate, a line written between the
 * copy and the truncation is lost, and the file can pass `max-size` by what
 * the container prints in one second. `max-size: "-1"` turns rotation off.
 *
 * @module
 */
import { sizeInBytes } from "../../core/rules.ts";
import { effectiveLogging } from "../../core/fields.ts";
import type { Logging } from "../../core/model.ts";
import type { ContainerConfig as CriContainerConfig } from "./cri-client.ts";
import { helperConfig, READER_MOUNT } from "./logs.ts";

/** When a log file is rotated and how many files are kept (the current one included). */
export interface LogRotation {
  maxBytes: number;
  maxFiles: number;
}

/** The rotator's value of the log helpers' label (READER_LABEL). */
export const ROTATOR_ROLE = "rotator";

/** Tools the rotator runs, besides `sh`. */
export const ROTATION_TOOLS = ["wc", "cp", "mv", "sleep"];

/** The options of json-file berth's rotation honours. */
const OPTIONS = ["max-size", "max-file"];

/**
 * The rotation `logging` asks for on CRI (undefined: none, with `max-size:
 * "-1"`), or why CRI cannot honour it (another driver, another option).
 *
 * @example
 * ```ts
 * import { rotationOf } from "./log-rotation.ts";
 * if (rotationOf(undefined).rotation?.maxFiles !== 3) throw new Error("json-file's default: 3 files");
 * if (rotationOf({ options: { "max-size": "-1" } }).rotation !== undefined) throw new Error("-1: no rotation");
 * if (rotationOf({ driver: "journald" }).problem === undefined) throw new Error("refused");
 * ```
 */
export function rotationOf(logging: Logging | undefined): { rotation?: LogRotation; problem?: string } {
  const { driver, options } = effectiveLogging(logging);
  if (driver !== "json-file") {
    return {
      problem:
        `the CRI runtime writes the output to its own log files (/var/log/berth), rotated with json-file's max-size and max-file; logging driver "${driver}" is Docker-only: remove it`,
    };
  }
  const others = Object.keys(options).filter((key) => !OPTIONS.includes(key));
  if (others.length > 0) {
    return {
      problem: `logging option ${
        others.map((o) => `"${o}"`).join(", ")
      }: the CRI runtime rotates its log files with max-size and max-file only: remove the others`,
    };
  }
  const size = options["max-size"] ?? "-1";
  if (size === "-1") return {};
  return { rotation: { maxBytes: sizeInBytes(size) as number, maxFiles: Number(options["max-file"] ?? "1") } };
}

/**
 * The rotator of the log file `fileName` in the host directory
 * `logDirectory`: a helper container with the directory mounted read-write,
 * running the check loop in `sh`.
 *
 * @example
 * ```ts
 * import { rotatorConfig } from "./log-rotation.ts";
 * const c = rotatorConfig("busybox", "/var/log/berth/web", "0123.log", { maxBytes: 1024, maxFiles: 2 });
 * if (c.mounts?.[0]?.hostPath !== "/var/log/berth/web" || c.command?.[0] !== "sh") throw new Error("wrong");
 * ```
 */
export function rotatorConfig(
  image: string,
  logDirectory: string,
  fileName: string,
  rotation: LogRotation,
): CriContainerConfig {
  return helperConfig(image, logDirectory, false, [
    "sh",
    "-c",
    ROTATOR_SCRIPT,
    "rotator",
    `${READER_MOUNT}/${fileName}`,
    String(rotation.maxBytes),
    String(rotation.maxFiles),
  ], "rotator");
}

/**
 * $1 the file, $2 max bytes, $3 files kept. Shifts .N-2 -> .N-1 ... .1 -> .2,
 * copies the file to .1 and truncates it; with one file kept, only truncates.
 */
const ROTATOR_SCRIPT = `f=$1 max=$2 keep=$3
while :; do
  size=$(wc -c < "$f" 2>/dev/null || echo 0)
  if [ "$size" -gt "$max" ]; then
    i=$((keep - 1))
    while [ "$i" -gt 1 ]; do
      if [ -e "$f.$((i - 1))" ]; then mv -f "$f.$((i - 1))" "$f.$i"; fi
      i=$((i - 1))
    done
    if [ "$keep" -gt 1 ]; then cp "$f" "$f.1"; fi
    : > "$f"
  fi
  sleep 1
done`;

/** The rotated files of `logPath`, oldest first (they may not all exist). */
export function rotatedFiles(logPath: string, rotation: LogRotation | undefined): string[] {
  const count = rotation === undefined ? 0 : rotation.maxFiles - 1;
  return Array.from({ length: count }, (_, i) => `${logPath}.${count - i}`);
}

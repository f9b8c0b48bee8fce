/**
 * Live progress of an apply for a person (`--progress`, like compose's):
 * - `plain`: a line as each change begins and as it ends (with its time), image pull progress
 *   every few seconds, and a "still working" line every 10 s of a long step: for logs and pipes.
 * - `tty`: the same lines, plus one status line at the bottom, redrawn in place every second,
 *   with what is in flight, for how long, and how far its image pull is.
 * - `quiet`: only failures (the plan and the summary are printed around it either way).
 *
 * @module
 */
import type { ApplyEvent } from "../engine/apply.ts";
import type { PlannedChange } from "../engine/plan.ts";
import type { PullProgress } from "../runtimes/docker/image.ts";
import type { CliIO } from "./io.ts";
import { formatEvent, type Style } from "./output.ts";
import { pullProgressReporter } from "./pull-progress.ts";

/** The `--progress` values. */
export const PROGRESS_MODES = ["plain", "tty", "quiet"] as const;
export type ProgressMode = typeof PROGRESS_MODES[number];

/** Shows an apply's events and pulls as they come. */
export interface Progress {
  /** An apply event, its hosts already shown by name. */
  event(event: ApplyEvent): void;
  /** A pull progress message from a host (shown by name). */
  pull(host: string, image: string, progress: PullProgress): void;
  /** Takes the status line off the terminal, before something else writes there (it comes back by itself). */
  clear(): void;
  /** Ends the progress: timers stop, the status line goes. */
  stop(): void;
}

/** Options of {@link progressFor}. */
export interface ProgressOptions {
  /** Terminal width, to keep the status line on one row; default 80. */
  columns?: number;
  /** A "still working" line after every this many ms of one step (plain); default 10 s. */
  stillEveryMs?: number;
  /** Pull progress lines at most this often (plain); default 5 s. */
  pullEveryMs?: number;
}

/** `--progress` unset: tty on a terminal, plain otherwise. */
export function defaultProgressMode(stdout: { isTTY?: boolean }): ProgressMode {
  return stdout.isTTY === true ? "tty" : "plain";
}

/**
 * The progress of an apply on `io`'s stdout, in `mode` (else tty on a terminal, plain otherwise), and an
 * `io` whose stderr takes the status line off the terminal before a warning (a host being retried) is written.
 */
export function progressOn(io: CliIO, mode: ProgressMode | undefined, style: Style): Progress & { io: CliIO } {
  const progress = progressFor(
    mode ?? defaultProgressMode(io.stdout),
    (text) => io.stdout.write(text),
    style,
    { columns: (io.stdout as { columns?: number }).columns || 80 }, // 0 on a terminal of unknown size
  );
  const stderr = io.stderr;
  const clearing = {
    ...(stderr.isTTY === undefined ? {} : { isTTY: stderr.isTTY }),
    write: (text: string) => (progress.clear(), stderr.write(text)),
  };
  return { ...progress, io: { ...io, stderr: clearing } };
}

/**
 * @param write Writes text to the output (stdout), newlines included.
 *
 * @example
 * ```ts
 * import { progressFor } from "./progress.ts";
 * import { styleFor } from "./output.ts";
 * import type { PlannedChange } from "../engine/plan.ts";
 * let out = "";
 * const progress = progressFor("plain", (s) => (out += s), styleFor({}, {}));
 * const change: PlannedChange = { name: "web", action: "create", host: "node1", reasons: [], diff: [], files: [], directories: [] };
 * progress.event({ type: "begin", change });
 * progress.event({ type: "done", change, durationMs: 1200 });
 * progress.stop();
 * if (!out.includes("web create on node1 ...") || !out.includes("web created on node1 (1.2s)")) throw new Error(out);
 * ```
 */
export function progressFor(
  mode: ProgressMode,
  write: (text: string) => void,
  style: Style,
  options: ProgressOptions = {},
): Progress {
  if (mode === "quiet") {
    return {
      event: (e) => {
        if (e.type === "failed") write(`${formatEvent(e, style)}\n`);
      },
      pull: () => {},
      clear: () => {},
      stop: () => {},
    };
  }
  const stillEveryMs = options.stillEveryMs ?? 10_000;
  // Per change in flight: when it began, and the elapsed ms its last "still working" line said. Keyed by what the
  // change is, not by its object: each event may carry a fresh copy (the CLI rewrites hosts for display).
  const inFlight = new Map<string, { change: PlannedChange; started: number; said: number }>();
  const keyOf = (c: PlannedChange) => `${c.host}\0${c.name}\0${c.action}`;
  const pulls = new Map<string, string>();
  let status = "";
  const clear = () => {
    if (status === "") return;
    write("\r\x1b[2K");
    status = "";
  };
  const line = (text: string) => {
    clear();
    write(`${text}\n`);
  };
  const pullLine = pullProgressReporter(
    // On the status line, the numbers first: a narrow terminal cuts the image name, not them.
    (text, p) => mode === "plain" ? line(text) : pulls.set(`${p.host} ${p.image}`, `pulling ${p.done}: ${p.image}`),
    mode === "plain" ? options.pullEveryMs ?? 5000 : 1000,
  );
  const tick = () => {
    const now = performance.now();
    if (mode === "plain") {
      for (const f of inFlight.values()) {
        const c = f.change;
        const ms = Math.floor((now - f.started) / stillEveryMs) * stillEveryMs;
        if (ms > f.said) {
          f.said = ms;
          line(
            style.dim(`    ${c.name} ${c.action} on ${c.host}: still working after ${Number((ms / 1000).toFixed(1))}s`),
          );
        }
      }
      return;
    }
    const parts = [...inFlight.values()].map((f) =>
      `${f.change.name} ${f.change.action} ${((now - f.started) / 1000).toFixed(0)}s`
    );
    // Images are pulled first, before any change begins: their progress shows on its own then.
    if (parts.length === 0 && pulls.size === 0) return clear();
    const head = parts.length === 0 ? [] : [`${parts.length} in progress: ${parts.join(", ")}`];
    const text = `  ${[...head, ...pulls.values()].join(" | ")}`;
    clear();
    status = text.slice(0, Math.max(20, (options.columns ?? 80) - 1));
    write(style.dim(status));
  };
  const timer = setInterval(tick, Math.min(1000, stillEveryMs));
  timer.unref?.();
  return {
    event(e) {
      if (e.type === "begin") {
        inFlight.set(keyOf(e.change), { change: e.change, started: performance.now(), said: 0 });
        line(style.dim(`    ${e.change.name} ${e.change.action} on ${e.change.host} ...`));
        return;
      }
      // Gate events come while the change is still in flight; these three end it.
      if (e.type === "done" || e.type === "failed" || e.type === "skipped") inFlight.delete(keyOf(e.change));
      const text = formatEvent(e, style);
      if (text !== undefined) line(text);
    },
    pull(host, image, progress) {
      pullLine(host, image, progress);
      // The engine's last messages of a pull: it is over.
      if (/^(Status|Digest):/.test(progress.status ?? "")) pulls.delete(`${host} ${image}`);
    },
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}

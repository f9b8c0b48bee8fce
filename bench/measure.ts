/**
 * Running one measured command: wall time and peak RSS of the process tree's
 * largest process (GNU time's %M), output kept in a log file.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

/** A command to measure. */
export interface Command {
  argv: string[];
  cwd: string;
  env?: Record<string, string>;
  /** Stopped (SIGTERM to its process group, SIGKILL 10 s later) when it runs longer. */
  timeoutSeconds?: number;
}

/** What one measured run gave. */
export interface Sample {
  seconds: number;
  /** Peak resident set size in MB, of the largest process GNU time saw. */
  rssMb: number;
  /** It ran past `timeoutSeconds` and was stopped: `seconds` is a lower bound. */
  stopped?: boolean;
}

/**
 * Runs `cmd` under `/usr/bin/time`, appending its output to `log`.
 *
 * @param okCodes Exit codes that count as success (berth plan exits 2 on changes).
 * @throws {Error} When it exits with another code, with the end of the log.
 */
export async function measure(cmd: Command, log: string, okCodes: number[] = [0]): Promise<Sample> {
  const timeFile = `${log}.time`;
  appendFileSync(log, `\n$ ${cmd.argv.join(" ")}   (in ${cmd.cwd})\n`);
  const started = performance.now();
  let stopped = false;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "%M", "-o", timeFile, ...cmd.argv], {
      cwd: cmd.cwd,
      env: { ...process.env, ...cmd.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so that a stop reaches the measured command and not only GNU time.
      detached: cmd.timeoutSeconds !== undefined,
    });
    const timers: NodeJS.Timeout[] = [];
    if (cmd.timeoutSeconds !== undefined) {
      const signal = (name: NodeJS.Signals) => () => {
        stopped = true;
        appendFileSync(log, `\n(stopped with ${name}: ran past ${cmd.timeoutSeconds} s)\n`);
        process.kill(-(child.pid as number), name);
      };
      timers.push(setTimeout(signal("SIGTERM"), cmd.timeoutSeconds * 1000));
      timers.push(setTimeout(signal("SIGKILL"), (cmd.timeoutSeconds + 10) * 1000));
    }
    child.stdout.on("data", (d: Buffer) => appendFileSync(log, d));
    child.stderr.on("data", (d: Buffer) => appendFileSync(log, d));
    child.on("error", reject);
    child.on("close", (c) => {
      for (const t of timers) clearTimeout(t);
      resolve(c ?? 1);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  if (stopped) return { seconds: cmd.timeoutSeconds as number, rssMb: NaN, stopped };
  if (!okCodes.includes(code)) {
    const tail = readFileSync(log, "utf8").split("\n").slice(-25).join("\n");
    throw new Error(`${cmd.argv.join(" ")} exited ${code}:\n${tail}`);
  }
  const kb = Number(readFileSync(timeFile, "utf8").trim().split("\n").pop());
  return { seconds, rssMb: kb / 1024 };
}

/** Median, min and max of a non-empty list. */
export function stats(values: number[]): { median: number; min: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] as number, max: s[s.length - 1] as number };
}

/** How every bench target is reported: "met" or "MISSED" (a comparison with NaN, a figure not taken, misses). */
export const verdict = (ok: boolean): string => ok ? "met" : "MISSED";

const loadAtStart = loadavg();

/** The machine the figures come from, and its load (the 1-minute load average when the run began and ended). */
export function machine(): string {
  const load = (l: number[]) => (l[0] ?? NaN).toFixed(2);
  return `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${
    (totalmem() / 2 ** 30).toFixed(1)
  } GiB, Linux ${release()}, Node ${process.versions.node}, ${new Date().toISOString()}, load average ${
    load(loadAtStart)
  } at the start, ${load(loadavg())} at the end${
    (loadAtStart[0] ?? 0) >= 1 ? " (NOT QUIET: other work shared the 2 cores; compare within the run only)" : ""
  }`;
}

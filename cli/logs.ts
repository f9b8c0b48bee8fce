/**
 * `berth logs [NAME]`: what a container of the state has printed, read from
 * its runtime (Docker or CRI), also after it exited; every container of the
 * state, each line prefixed by its name, when no name is given. `-f` follows
 * the output as it is printed (Docker), `--since` and `--timestamps` as in
 * `docker logs`.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { BerthError } from "../core/errors.ts";
import { parseDuration } from "../core/duration.ts";
import type { ContainersResource } from "../engine/containers.ts";
import { closeResource, EXIT_ERROR, EXIT_OK, type GlobalOptions, openResource } from "./commands.ts";
import { onInterrupt } from "./interrupt.ts";
import type { CliIO } from "./io.ts";
import { writeJson } from "./json-output.ts";

/** The options of `berth logs`. */
export interface LogsOptions {
  /** One container; every container of the state when not given. */
  name?: string;
  tail?: number;
  /** ms since the epoch (see {@link parseSince}). */
  since?: number;
  timestamps?: boolean;
  follow?: boolean;
}

/**
 * Prints the output: stdout to stdout and stderr to stderr (`--json`:
 * `{ stdout, stderr }`, or `{ containers: { NAME: { stdout, stderr } } }` without a name). Without a
 * name, a container whose output cannot be read is reported (`errors: { NAME: {code, message} }` in
 * JSON) and the others are printed.
 *
 * @returns The exit code: 1 when a container's output could not be read.
 * @throws {BerthError} `NOT_FOUND` for a name not in the state (with a close name when there is one), or the runtime's error.
 */
export async function logsCommand(io: CliIO, opts: GlobalOptions & LogsOptions): Promise<number> {
  if (opts.follow === true && opts.json === true) {
    throw new BerthError("VALIDATION", "--follow prints the output as it comes, --json an object at the end: drop one");
  }
  const resource = await openResource(io, opts);
  try {
    const names = opts.name === undefined ? createdNames(resource) : [opts.name];
    const options = {
      ...(opts.tail === undefined ? {} : { tail: opts.tail }),
      ...(opts.since === undefined ? {} : { since: opts.since }),
      ...(opts.timestamps === true ? { timestamps: true } : {}),
    };
    // One container named: its output as it is; several: each line prefixed by its container's name.
    const width = Math.max(...names.map((n) => n.length));
    const writer = (name: string) => opts.name === undefined ? prefixed(io, `${name.padEnd(width)} | `) : plain(io);
    // Without a name, a container that cannot be read (its host unreachable) is reported and the rest printed.
    const errors: Record<string, { code: string; message: string }> = {};
    const each = async (name: string, read: () => Promise<void>) => {
      try {
        await read();
      } catch (err) {
        if (opts.name !== undefined) throw err;
        const message = err instanceof Error ? err.message : String(err);
        errors[name] = { code: err instanceof BerthError ? err.code : "UNEXPECTED", message };
        io.stderr.write(`berth: ${message}\n`);
      }
    };
    const code = () => (Object.keys(errors).length === 0 ? EXIT_OK : EXIT_ERROR);
    if (opts.follow === true) {
      const stop = new AbortController();
      const stopRouting = onInterrupt(() => stop.abort());
      try {
        await Promise.all(names.map((name) =>
          each(name, async () => {
            const write = writer(name);
            await resource.followLogs(name, write.output, { ...options, signal: stop.signal });
            write.end();
          })
        ));
      } finally {
        stopRouting();
      }
      return code();
    }
    const outputs: Record<string, { stdout: string; stderr: string }> = {};
    for (const name of names) await each(name, async () => void (outputs[name] = await resource.logs(name, options)));
    if (opts.json) {
      writeJson(
        io,
        opts.name !== undefined
          ? { ...outputs[opts.name] }
          : { containers: outputs, ...(Object.keys(errors).length > 0 && { errors }) },
      );
      return code();
    }
    for (const name of Object.keys(outputs)) {
      const write = writer(name);
      write.output("stdout", outputs[name]?.stdout ?? "");
      write.output("stderr", outputs[name]?.stderr ?? "");
      write.end();
    }
    return code();
  } finally {
    await closeResource(io, resource, opts);
  }
}

/** The containers of the state that were created, by name. */
function createdNames(resource: ContainersResource): string[] {
  const names = Object.entries(resource.currentState()).filter(([, hcc]) => hcc.container.status?.id !== undefined)
    .map(([name]) => name).sort();
  if (names.length === 0) throw new BerthError("NOT_FOUND", "No container of the state was created: run apply");
  return names;
}

interface Writer {
  output(stream: "stdout" | "stderr", text: string): void;
  /** Ends a line still open, so the next container's output starts on its own. */
  end(): void;
}

function plain(io: CliIO): Writer {
  return { output: (stream, text) => void io[stream].write(text), end: () => {} };
}

/** Whole lines, each with `prefix`; a line is held until it ends (or the output does). */
function prefixed(io: CliIO, prefix: string): Writer {
  const open = { stdout: "", stderr: "" };
  return {
    output(stream, text) {
      const lines = (open[stream] + text).split("\n");
      open[stream] = lines.pop() as string;
      if (lines.length > 0) io[stream].write(lines.map((line) => `${prefix}${line}\n`).join(""));
    },
    end() {
      for (const stream of ["stdout", "stderr"] as const) {
        if (open[stream] !== "") io[stream].write(`${prefix}${open[stream]}\n`);
        open[stream] = "";
      }
    },
  };
}

/** Commander parser of `--tail N`: a whole number of lines. */
export function parseTail(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of lines");
  return Number(value);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Commander parser of `--since`: a duration back from now (`10m`, `1h30m`) or an RFC 3339 time
 * (`2026-11-30T08:00:00Z`), as ms since the epoch.
 *
 * @example
 * ```ts
 * import { parseSince } from "./logs.ts";
 * if (parseSince("2026-11-30T08:00:00Z") !== Date.UTC(2026, 10, 30, 8)) throw new Error("wrong");
 * if (Math.abs(parseSince("1m") - (Date.now() - 60_000)) > 1000) throw new Error("wrong");
 * ```
 */
export function parseSince(text: string, now = Date.now()): number {
  if (RFC3339.test(text)) {
    const time = Date.parse(text);
    if (Number.isFinite(time)) return time;
    throw new InvalidArgumentError(`"${text}" is not a valid time (month, day or hour out of range)`);
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new InvalidArgumentError(
      `expected a duration back from now such as 10m or 1h30m, or an RFC 3339 time such as 2026-11-30T08:00:00Z`,
    );
  }
}

/**
 * `berth logs NAME`: what a container of the state has printed, read from
 * its runtime (Docker or CRI), also after it exited.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { closeResource, EXIT_OK, type GlobalOptions, openResource } from "./commands.ts";
import type { CliIO } from "./io.ts";
import { writeJson } from "./json-output.ts";

/**
 * Prints the container's stdout to stdout and its stderr to stderr
 * (`--json`: `{ stdout, stderr }` on stdout).
 *
 * @returns The exit code.
 * @throws {BerthError} `NOT_FOUND` for a name not in the state (with a close name when there is one), or the runtime's error.
 */
export async function logsCommand(io: CliIO, opts: GlobalOptions & { name: string; tail?: number }): Promise<number> {
  const resource = await openResource(io, opts);
  try {
    const output = await resource.logs(opts.name, opts.tail === undefined ? {} : { tail: opts.tail });
    if (opts.json) {
      writeJson(io, { ...output });
    } else {
      io.stdout.write(output.stdout);
      io.stderr.write(output.stderr);
    }
    return EXIT_OK;
  } finally {
    await closeResource(io, resource, opts);
  }
}

/** Commander parser of `--tail N`: a whole number of lines. */
export function parseTail(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of lines");
  return Number(value);
}

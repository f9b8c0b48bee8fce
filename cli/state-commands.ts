/**
 * The operators' state commands: `berth state pull`, `push FILE`,
 * `migrate --to SPEC` and `unlock --force`, on any backend.
 *
 * @module
 */
import { resolve } from "node:path";
import { BerthError } from "../core/errors.ts";
import { stateToYaml } from "../core/serialize.ts";
import { describeHolder, type StateBackend } from "../store/backend.ts";
import { readStateFile } from "../store/state-file.ts";
import { EXIT_ERROR, EXIT_OK, type GlobalOptions, warn } from "./commands.ts";
import { type CliIO, confirm } from "./io.ts";
import { lockedBackend, withBackend } from "./state-backend.ts";

/** `berth state pull`: the state on stdout, its revision (etcd) on stderr. */
export async function pullCommand(io: CliIO, opts: GlobalOptions): Promise<number> {
  return await withBackend(io, opts, async (backend) => {
    const stored = await backend.read();
    for (const w of stored.warnings) warn(io, w);
    io.stdout.write(stateToYaml(stored.state));
    io.stderr.write(
      `${Object.keys(stored.state).length} container(s) from ${backend.description}${
        stored.revision === undefined ? "" : ` at revision ${stored.revision}`
      }\n`,
    );
    return EXIT_OK;
  });
}

/**
 * `berth state push FILE`: replaces the stored state with a state file, after
 * a confirmation; with `--revision N`, only if the state is still at N.
 */
export async function pushCommand(
  io: CliIO,
  opts: GlobalOptions & { file: string; yes?: boolean; revision?: number },
): Promise<number> {
  const pushed = await readStateFile(resolve(io.cwd, opts.file));
  if (!pushed.existed) throw new BerthError("VALIDATION", `Cannot push "${opts.file}": there is no such file`);
  if (opts.yes !== true && io.stdin.isTTY !== true) {
    throw new BerthError(
      "VALIDATION",
      "Refusing to push without confirmation: there is no terminal to ask. Pass --yes",
    );
  }
  return await locked(io, opts, "berth state push", async (backend) => {
    const current = await backend.read();
    if (opts.revision !== undefined && current.revision !== opts.revision) {
      throw new BerthError(
        "STATE",
        `The state in ${backend.description} is at revision ${
          current.revision ?? "(a file has none)"
        }, not ${opts.revision}: it changed since you read it, and nothing was pushed. Pull it again, merge, and push with the new revision`,
      );
    }
    const was = `${Object.keys(current.state).length} container(s)${
      current.revision === undefined ? "" : `, revision ${current.revision}`
    }`;
    if (opts.yes !== true) {
      const question = `Replace the state in ${backend.description} (${was}) with ${opts.file} (${
        Object.keys(pushed.state).length
      } container(s))?`;
      if (!(await confirm(io, question))) {
        io.stderr.write("Nothing was changed.\n");
        return EXIT_ERROR;
      }
    }
    await backend.write(pushed.state);
    const now = await backend.read();
    io.stdout.write(
      `Pushed ${opts.file} to ${backend.description}: ${Object.keys(now.state).length} container(s)${
        now.revision === undefined ? "" : ` at revision ${now.revision}`
      } (was ${was}).\n`,
    );
    return EXIT_OK;
  });
}

/**
 * `berth state migrate --to SPEC`: copies the state of `--state` to another
 * backend (a file or `etcd://...`), both locked, and reads it back to check
 * it arrived whole. The source is left as it was.
 */
export async function migrateCommand(
  io: CliIO,
  opts: GlobalOptions & { to: string; force?: boolean },
): Promise<number> {
  return await locked(io, opts, "berth state migrate", async (source) => {
    const { backend: target, lock } = await lockedBackend(
      io,
      opts,
      "berth state migrate",
      (m) => warn(io, m),
      opts.to,
    );
    try {
      const from = await source.read();
      for (const w of from.warnings) warn(io, w);
      if (!from.existed) {
        throw new BerthError("STATE", `There is no state in ${source.description} to migrate: check --state`);
      }
      const there = await target.read();
      const count = Object.keys(there.state).length;
      if (there.existed && count > 0 && opts.force !== true) {
        throw new BerthError(
          "STATE",
          `${target.description} already holds a state (${count} container(s)): nothing was changed. Pull it to look at it, or pass --force to replace it`,
        );
      }
      await target.write(from.state);
      const arrived = await target.read();
      if (stateToYaml(arrived.state) !== stateToYaml(from.state)) {
        throw new BerthError(
          "STATE",
          `The state read back from ${target.description} differs from ${source.description}'s: keep using ${source.description}, and report this`,
        );
      }
      io.stdout.write(
        `Migrated ${Object.keys(from.state).length} container(s) from ${source.description} to ${target.description}${
          arrived.revision === undefined ? "" : ` (revision ${arrived.revision})`
        }. ${source.description} is left as it was; from now on pass --state ${opts.to} (or set backend: in the config).\n`,
      );
      return EXIT_OK;
    } finally {
      await lock.release();
      await target.close();
    }
  });
}

/** `berth state unlock --force`: removes the lock whatever holds it. */
export async function unlockCommand(io: CliIO, opts: GlobalOptions & { force?: boolean }): Promise<number> {
  if (opts.force !== true) {
    throw new BerthError(
      "VALIDATION",
      `"berth state unlock" removes the lock whatever run holds it: make sure that run is gone, then pass --force`,
    );
  }
  return await withBackend(io, opts, async (backend) => {
    const holder = await backend.forceUnlock();
    io.stdout.write(
      holder === undefined
        ? `${backend.description} was not locked (any lock there is removed).\n`
        : `Removed the lock of ${backend.description} held by ${describeHolder(holder)}.\n`,
    );
    return EXIT_OK;
  });
}

async function locked(
  io: CliIO,
  opts: GlobalOptions,
  command: string,
  use: (backend: StateBackend) => Promise<number>,
): Promise<number> {
  const { backend, lock } = await lockedBackend(io, opts, command, (m) => warn(io, m));
  try {
    return await use(backend);
  } finally {
    await lock.release();
    await backend.close();
  }
}

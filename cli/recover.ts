/**
 * `berth state recover`: rebuilds a lost state file from what the hosts of
 * the config report (see `engine/recover.ts`).
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import { validateContainers, ValidationError } from "../core/validate.ts";
import { recoverState } from "../engine/recover.ts";
import { digestKeyFor } from "./digest-key.ts";
import { sealState } from "../core/sensitive.ts";
import { writeJson } from "./json-output.ts";
import { EXIT_OK, type GlobalOptions, loadConfig, warn } from "./commands.ts";
import type { CliIO } from "./io.ts";
import { formatTable } from "./output.ts";
import { lockedBackend } from "./state-backend.ts";
import { shortId } from "../core/container-id.ts";

const WHAT: Record<string, string> = {
  desired: "as configured",
  changed: "changed outside berth: apply recreates it",
  orphan: "not in the config: apply removes it",
  aside: "old one set aside by an interrupted recreate: apply finishes the recreate",
};

/**
 * Recovers the state file. Refuses to overwrite an existing one unless `force`.
 *
 * @returns The exit code.
 * @throws {BerthError} `STATE` when the state file exists (without `force`) or is locked; the code of a host failure.
 */
export async function recoverCommand(
  io: CliIO,
  opts: GlobalOptions & { force?: boolean; namePrefix?: string },
): Promise<number> {
  const { desiredState, hostNames } = await loadConfig(io, opts);
  const problems = validateContainers({ desiredState });
  if (problems.length > 0) throw new ValidationError(problems);
  if (Object.keys(desiredState).length === 0) {
    throw new BerthError("VALIDATION", `${opts.config}: no containers are declared, so no hosts to ask`);
  }

  const { backend, lock } = await lockedBackend(io, opts, "berth state recover", (m) => warn(io, m));
  try {
    const existing = await backend.read().catch(() => ({ existed: true }));
    if (existing.existed && opts.force !== true) {
      throw new BerthError(
        "STATE",
        `State file "${opts.state}" exists; recovery would replace it. Move it away, or pass --force to overwrite it`,
      );
    }
    // Sealed: the state gets digests, and the configuration labels (made from sealed configs) compare equal.
    const sealed = sealState(desiredState, await digestKeyFor(io, opts, desiredState));
    const { state, found } = await recoverState(sealed, {
      env: io.env,
      log: (m) => warn(io, m),
      ...(opts.namePrefix === undefined ? {} : { claim: (name: string) => name.startsWith(opts.namePrefix as string) }),
    });
    await backend.write(state);
    if (opts.json) {
      writeJson(io, {
        state: opts.state,
        recovered: found.map((f) => ({ ...f, hostName: hostNames.get(f.host) ?? f.host })),
      });
      return EXIT_OK;
    }
    if (found.length > 0) {
      io.stdout.write(
        `${
          formatTable(
            ["HOST", "ADDRESS", "NAME", "STATUS", "ID", "RECORDED"],
            found.map((
              f,
            ) => [hostNames.get(f.host) ?? f.host, f.host, f.name, f.status, shortId(f.id), WHAT[f.kind] ?? f.kind]),
          )
        }\n`,
      );
    }
    const count = (kind: string) => found.filter((f) => f.kind === kind).length;
    const hosts = new Set(found.map((f) => f.host)).size;
    io.stdout.write(
      `Recovered ${found.length} container(s) on ${hosts} host(s) into ${opts.state}: ${
        count("desired")
      } as configured, ${count("changed")} changed outside berth, ${
        count("orphan")
      } not in the config. Run "berth plan" to see what apply would change.\n`,
    );
    return EXIT_OK;
  } finally {
    await lock.release();
    await backend.close();
  }
}

/**
 * `berth import NAME`: takes a container that runs on its host but was not
 * made by berth into the state (engine/import.ts), then shows the plan: empty
 * when its settings match the config, a recreate with the difference when not.
 *
 * @module
 */
import { shortId } from "../core/container-id.ts";
import type { DiffLine } from "../engine/diff.ts";
import { closeResource, EXIT_OK, type GlobalOptions, HOST_NAMES, openResource, warn } from "./commands.ts";
import { displayPlan, hostDisplay } from "./host-names.ts";
import type { CliIO } from "./io.ts";
import { jsonDiff, publicPlan, writeJson } from "./json-output.ts";
import { formatPlan, type Style, styleFor } from "./output.ts";
import { lockedBackend } from "./state-backend.ts";

/**
 * Imports the container, writes the state, checks the hosts again and prints the plan.
 *
 * @returns The exit code: 0 once imported (the plan says whether apply has anything left to do).
 */
export async function importCommand(io: CliIO, opts: GlobalOptions & { name: string }): Promise<number> {
  const style = styleFor(io.stdout, io.env);
  const { backend, lock } = await lockedBackend(io, opts, "berth import", (m) => warn(io, m));
  try {
    const resource = await openResource(io, opts, false, backend);
    try {
      const imported = await resource.importContainer(opts.name);
      await backend.write(resource.currentState());
      const names = HOST_NAMES.get(resource) ?? new Map();
      await resource.checkCurrentState();
      const plan = resource.plan();
      if (opts.json) {
        writeJson(io, {
          imported: {
            ...imported,
            hostName: names.get(imported.host) ?? imported.host,
            diff: imported.diff.map(jsonDiff),
          },
          plan: publicPlan(plan, (h) => names.get(h) ?? h),
        });
        return EXIT_OK;
      }
      const where = `${shortId(imported.id)}, ${imported.status}) on host ${hostDisplay(names, imported.host)}`;
      io.stdout.write(`Imported "${imported.name}" (${where} into the state; it was not touched.\n`);
      if (imported.diff.length === 0) io.stdout.write("Its settings match the config.\n");
      else {
        io.stdout.write(`Its settings differ from the config (the host's -> the config's):\n`);
        for (const line of imported.diff) io.stdout.write(`${diffLine(line, style)}\n`);
        io.stdout.write(`"berth apply" recreates it with the config's settings.\n`);
      }
      if (imported.notCompared.length > 0) {
        io.stdout.write(
          `Not compared (not read back from the engine): ${imported.notCompared.join(", ")}.\n`,
        );
      }
      io.stdout.write(`${formatPlan(displayPlan(names, plan), style)}\n`);
      return EXIT_OK;
    } finally {
      await closeResource(io, resource, opts);
    }
  } finally {
    await lock.release();
    await backend.close();
  }
}

function diffLine(d: DiffLine, style: Style): string {
  if (d.sensitive) return style.yellow(`  ${d.op} ${d.path}: (sensitive value differs)`);
  if (d.op === "+") return style.green(`  + ${d.path}: ${d.after ?? ""}`);
  if (d.op === "-") return style.red(`  - ${d.path}: ${d.before ?? ""}`);
  return style.yellow(`  ~ ${d.path}: ${d.before ?? ""} -> ${d.after ?? ""}`);
}

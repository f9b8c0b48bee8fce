/**
 * The state file on a full file system (a small tmpfs filled to leave 0, 1
 * and 2 free pages): an apply of 30 containers stops at the first state
 * write that fails, exits 1 with the reason, and leaves the previous state
 * file whole (or none); `state recover --force` does not cut it short
 * either. Once there is room again, the next run adopts the containers
 * created but not recorded (same id before and after) and converges with
 * nothing lost, duplicated or orphaned.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readStateFile } from "../../store/state-file.ts";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, endWithCensus, fleetHosts, managedContainers, removeByPrefix } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-disk-"));
const disk = join(dir, "disk");
const prefix = `rel-disk-${process.pid}`;
const COUNT = 30;
const names = Array.from({ length: COUNT }, (_, i) => `${prefix}-${String(i).padStart(2, "0")}`);
const PAGE = 4096;

mkdirSync(disk);
execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", disk]);

function free(): number {
  const out = execFileSync("df", ["-B", String(PAGE), "--output=avail", disk], { encoding: "utf8" });
  return Number(out.trim().split("\n").at(-1));
}

/** Fills the tmpfs so that exactly `pages` pages stay free. */
function fillLeaving(pages: number): void {
  rmSync(join(disk, "filler"), { force: true });
  let size = (free() - pages) * PAGE;
  for (let tries = 0; tries < 5; tries++) {
    writeFileSync(join(disk, "filler"), new Uint8Array(size));
    const left = free();
    if (left === pages) return;
    size += (left - pages) * PAGE;
  }
  throw new Error(`could not leave exactly ${pages} free pages on ${disk} (free: ${free()})`);
}

writeFileSync(
  join(dir, "config.yaml"),
  `${fleetHosts(env)}containers:\n${names.map((n, i) => containerYaml(env, `c${i}`, n, "local")).join("")}`,
);
const args = (...rest: string[]) => ["--state", join(disk, "state.yaml"), ...rest];

afterAll(async () => {
  try {
    execFileSync("umount", [disk]);
  } catch { /* not mounted */ }
  await removeByPrefix(env.local.socket, prefix).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 120_000);

describe("a full file system under the state file", () => {
  for (const pages of [0, 1, 2]) {
    test(
      `${pages} free page(s): apply stops with the reason, the state stays whole, the next run adopts and converges`,
      async () => {
        rmSync(join(disk, "state.yaml"), { force: true });
        await removeByPrefix(env.local.socket, prefix);
        fillLeaving(pages);
        tally("faults");

        const failed = await runCli(args("apply", "--yes"), dir);
        expect(failed.code).toBe(1);
        // With no page free even the lock cannot be made; else the first state write that does not fit stops the run.
        expect(failed.stderr).toMatch(
          /^berth: (Cannot create lock file .*ENOSPC|Apply stopped: the state could not be saved, .*Cannot write state file .* \(the previous one is unchanged\): .*ENOSPC.*)/,
        );
        const before = existsSync(join(disk, "state.yaml"))
          ? readFileSync(join(disk, "state.yaml"), "utf8")
          : undefined;
        if (before !== undefined) await readStateFile(join(disk, "state.yaml")); // parses: never cut short
        expect(readdirSync(disk).filter((f) => f.endsWith(".tmp"))).toEqual([]);

        // Recovery on the same full disk fails the same clean way.
        const recover = await runCli(args("state", "recover", "--force"), dir);
        if (recover.code !== 0) expect(recover.stderr).toMatch(/Cannot (write state|create lock) file .*ENOSPC/);
        const after = existsSync(join(disk, "state.yaml")) ? readFileSync(join(disk, "state.yaml"), "utf8") : undefined;
        if (recover.code !== 0) expect(after).toBe(before);
        if (after !== undefined) await readStateFile(join(disk, "state.yaml"));
        if (recover.code === 0) rmSync(join(disk, "state.yaml")); // it fitted: start again from what failed
        if (recover.code === 0 && before !== undefined) {
          writeFileSync(join(disk, "state.yaml"), before, { mode: 0o600 });
        }

        // Room again: what exists carries berth's labels and the wanted hash, so it is adopted.
        rmSync(join(disk, "filler"));
        const existing = new Map((await managedContainers(env.local.socket, prefix)).map((c) => [c.name, c.id]));
        const keyOf = (name: string) => `c${Number(name.slice(-2))}`;
        const recorded = before === undefined ? {} : (await readStateFile(join(disk, "state.yaml"))).state;
        const unrecorded = [...existing.keys()].filter((n) =>
          !Object.values(recorded).some((r) => r.container.config.name === n)
        );
        const plan = await runCli(args("plan"), dir);
        expect([0, 2]).toContain(plan.code);
        expect(plan.stdout).not.toContain("recreate");
        for (const name of unrecorded) expect(plan.stdout).toContain(`Adopted "${keyOf(name)}" (`);
        const apply = await runCli(args("apply", "--yes"), dir);
        expect({ code: apply.code, stderr: apply.stderr }).toEqual({
          code: 0,
          stderr: "",
        });
        const now = new Map((await managedContainers(env.local.socket, prefix)).map((c) => [c.name, c.id]));
        for (const [name, id] of existing) expect({ name, id: now.get(name) }).toEqual({ name, id });
        expect(await census(env.local.socket, prefix, names)).toEqual({ lost: [], duplicated: [], orphans: [] });
        console.log(
          `full disk, ${pages} free page(s): ${existing.size} created before the state write failed, ${unrecorded.length} of them unrecorded and adopted`,
        );
      },
      240_000,
    );
  }
});

endWithCensus(env, () => ({ local: names }));

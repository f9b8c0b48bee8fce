/**
 * Two applies on the same state at once (two child processes): exactly one
 * proceeds, the other refuses naming the holder; never both.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, removeByPrefix, spawnCli } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-concurrent-"));
const prefix = `rel-conc-${process.pid}`;
const keys = ["a", "b", "c", "d"];

const config = (round: number) =>
  `hosts:\n  local: { direct: {} }\ncontainers:\n${
    keys.map((k) => containerYaml(env, k, `${prefix}-${k}`, "local", `, env: { ROUND: "${round}" }`)).join("")
  }`;

afterAll(async () => {
  await removeByPrefix(env.local.socket, prefix);
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("concurrent applies", () => {
  test(
    "two `berth apply` on one state at once: one proceeds, the other is refused with the holder, 3 times",
    async () => {
      for (let round = 1; round <= 3; round++) {
        writeFileSync(join(dir, "config.yaml"), config(round));
        const args = ["-c", join(dir, "config.yaml"), "-s", join(dir, "state.yaml"), "apply", "--yes"];
        const runs = [spawnCli(args), spawnCli(args)];
        tally("faults");
        const exits = await Promise.all(runs.map((r) => r.exited));
        const worked = runs.filter((r) => /(created|recreated) on /.test(r.stdout));
        const refused = runs.filter((r) => r.stderr.includes("is locked by process"));
        const where = runs.map((r, i) => `run ${i}: exit ${exits[i]?.code}\n${r.stdout}\n${r.stderr}`).join("\n");
        // Never both changing the hosts; the loser either was refused or found nothing left to do.
        expect({ where, worked: worked.length }).toEqual({ where, worked: 1 });
        for (const r of runs.filter((x) => !worked.includes(x))) {
          if (refused.includes(r)) expect(r.stderr).toContain("berth apply");
          else expect(r.stdout).toContain("No changes");
        }
        expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
        expect(await census(env.local.socket, prefix, keys.map((k) => `${prefix}-${k}`))).toEqual({
          lost: [],
          duplicated: [],
          orphans: [],
        });
        expect((await runCli(["plan"], dir)).code).toBe(0);
      }
    },
    120_000,
  );
});

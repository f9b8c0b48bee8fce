/**
 * Two applies on the same state at once (two child processes): exactly one
 * proceeds, the other refuses naming the holder; never both. A round where
 * the second only started once the first was done did not test that: it is
 * not counted, and another runs.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, endWithCensus, removeByPrefix, spawnCli } from "./fleet.ts";
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
      let overlapped = 0;
      for (let round = 1; overlapped < 3 && round <= 9; round++) {
        writeFileSync(join(dir, "config.yaml"), config(round));
        const args = ["-c", join(dir, "config.yaml"), "-s", join(dir, "state.yaml"), "apply", "--yes"];
        const runs = [spawnCli(args), spawnCli(args)];
        const exits = await Promise.all(runs.map((r) => r.exited));
        const worked = runs.filter((r) => /(created|recreated) on /.test(r.stdout));
        const refused = runs.filter((r) => r.stderr.includes("is locked by process"));
        const where = runs.map((r, i) => `run ${i}: exit ${exits[i]?.code}\n${r.stdout}\n${r.stderr}`).join("\n");
        // Never both changing the hosts.
        expect({ where, worked: worked.length }).toEqual({ where, worked: 1 });
        const winner = worked[0] as (typeof runs)[number];
        const loser = runs.find((r) => r !== winner) as (typeof runs)[number];
        if (refused.includes(loser)) {
          // The loser ran while the winner held the lock: it names the winner's process and command.
          expect({ where, holder: loser.stderr.includes(`process ${winner.child.pid} on `) }).toEqual({
            where,
            holder: true,
          });
          expect(loser.stderr).toContain("berth apply");
          expect(exits[runs.indexOf(loser)]?.code).not.toBe(0);
          overlapped++;
          tally("faults");
        } else {
          // It came after the winner was done: nothing to do, and no race was tested.
          expect({ where, after: loser.stdout.includes("No changes") }).toEqual({ where, after: true });
        }
        expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
        expect(await census(env.local.socket, prefix, keys.map((k) => `${prefix}-${k}`))).toEqual({
          lost: [],
          duplicated: [],
          orphans: [],
        });
        expect((await runCli(["plan"], dir)).code).toBe(0);
      }
      expect(overlapped).toBe(3);
    },
    240_000,
  );
});

endWithCensus(env, () => ({ local: keys.map((k) => `${prefix}-${k}`) }));

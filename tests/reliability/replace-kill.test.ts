/**
 * berth killed (SIGKILL) at random points of a start-first and of a
 * stop-first recreate: right after the kill each name has its old or its new
 * container, at most one extra (the old one set aside); the next plan shows
 * what is left and the next apply converges, with exactly one container per
 * name, running the new config, and nothing set aside. Counted on the engine
 * through raw HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { containerYaml, fleetHosts, killApply, removeByPrefix } from "./fleet.ts";
import { saveTally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-replace-"));
const prefix = `rel-replace-${process.pid}`;
const view = dockerView(env.local.socket);
const ITERATIONS = Number(process.env["BERTH_REL_REPLACE_ITERATIONS"] ?? 2);
/** `start`: the default order (no host port: start-first); `stop`: declared stop-first. */
const NAMES = { start: `${prefix}-start`, stop: `${prefix}-stop` };

function config(round: number): string {
  const env_ = `, env: { ROUND: "${round}" }`;
  return `${fleetHosts(env)}containers:\n${containerYaml(env, "start", NAMES.start, "local", env_)}${
    containerYaml(env, "stop", NAMES.stop, "local", `${env_}, recreateOrder: stop-first`)
  }`;
}

let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

/** The containers of `name` on the engine: the one holding it and any set aside. */
async function generations(name: string) {
  return (await view.list()).filter((c) => c.name === name || c.name.startsWith(`${name}.berth-old-`));
}

/** True when an old container of any of the names is set aside. */
async function leftAside(): Promise<boolean> {
  for (const name of Object.values(NAMES)) if ((await generations(name)).some((c) => c.name !== name)) return true;
  return false;
}

async function roundOf(id: string): Promise<string | undefined> {
  const { body } = await dockerLocal(`/containers/${id}/json`);
  const line = ((body as { Config: { Env: string[] } }).Config.Env ?? []).find((l) => l.startsWith("ROUND="));
  return line?.slice("ROUND=".length);
}

afterAll(async () => {
  await removeByPrefix(env.local.socket, prefix);
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("berth killed during a start-first and a stop-first recreate", () => {
  let round = 0;

  test("setup: the first apply creates both containers", async () => {
    writeFileSync(join(dir, "config.yaml"), config(round));
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
  }, 60_000);

  test(
    `SIGKILL at ${ITERATIONS} random points: never lost, at most one extra, then plan + apply converge`,
    async () => {
      let landed = 0;
      let asideRounds = 0;
      for (let i = 0; landed < ITERATIONS && i < 3 * ITERATIONS; i++) {
        writeFileSync(join(dir, "config.yaml"), config(++round));
        const kill = await killApply(dir, round, Math.floor(random() * 1200), true);
        if (kill.landed) landed++;
        const { where } = kill;
        // Right after the kill: the old or the new one of each name is there, at most one more (set aside).
        for (const name of Object.values(NAMES)) {
          const seen = await generations(name);
          expect({ where, name, kept: seen.length >= 1, atMostOneExtra: seen.length <= 2 }).toEqual({
            where,
            name,
            kept: true,
            atMostOneExtra: true,
          });
        }
        const plan = await runCli(["plan"], dir);
        expect({ where, code: [0, 2].includes(plan.code) }).toEqual({ where, code: true });
        // An old container still set aside after the plan was there during it, so the plan shows it. (One seen
        // right after the kill may be gone by then: the engine finishes a removal berth sent before it died.)
        if (await leftAside()) {
          asideRounds++;
          expect(plan.stdout).toContain("set aside as");
        }
        const apply = await runCli(["apply", "--yes"], dir);
        const stderr = apply.stderr.replace(/.*no longer runs: taking it over\n?/g, "");
        expect({ where, code: apply.code, stderr }).toEqual({ where, code: 0, stderr: "" });
        for (const name of Object.values(NAMES)) {
          const seen = await generations(name);
          expect({ where, seen: seen.map((c) => [c.name, c.status]) }).toEqual({ where, seen: [[name, "running"]] });
          expect({ where, round: await roundOf(seen[0]?.id as string) }).toEqual({ where, round: String(round) });
        }
        expect((await runCli(["plan"], dir)).code).toBe(0);
      }
      expect(landed).toBe(ITERATIONS);
      if (process.env["BERTH_REL_DEBUG"]) console.log(`kills that left an old container set aside: ${asideRounds}`);
    },
    300_000,
  );
});

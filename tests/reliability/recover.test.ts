/**
 * `berth state recover` and `recoverState()`: a lost state file is rebuilt
 * from the hosts (local engine and two SSH hosts), and the next plan is empty
 * or exactly what really differs: no duplicate, no orphan.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromDocument } from "../../core/config.ts";
import { parseDocument } from "../../core/serialize.ts";
import { recoverState } from "../../engine/recover.ts";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, endWithCensus, fleetHosts, removeByPrefix, socketOf } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-recover-"));
const prefix = `rel-rec-${process.pid}`;
const placement: Record<string, string> = { a: "local", b: "local", c: "h1", d: "h2", e: "h1" };
const name = (key: string) => `${prefix}-${key}`;

function config(keys: string[], dEnv = "1"): string {
  return `${fleetHosts(env)}containers:\n${
    keys.map((k) => containerYaml(env, k, name(k), placement[k] as string, k === "d" ? `, env: { V: "${dEnv}" }` : ""))
      .join("")
  }`;
}
const write = (text: string) => writeFileSync(join(dir, "config.yaml"), text);

async function expectExactly(keys: string[]): Promise<void> {
  for (const host of ["local", "h1", "h2"]) {
    const want = keys.filter((k) => placement[k] === host).map(name);
    expect(await census(socketOf(env, host), prefix, want)).toEqual({ lost: [], duplicated: [], orphans: [] });
  }
}

afterAll(async () => {
  for (const host of ["local", "h1", "h2"]) await removeByPrefix(socketOf(env, host), prefix);
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("state recovery", () => {
  test("`berth state recover` rebuilds a deleted state file so the next plan is empty", async () => {
    write(config(["a", "b", "c", "d", "e"]));
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
    rmSync(join(dir, "state.yaml"));
    const run = await runCli(["state", "recover", "--name-prefix", prefix], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Recovered 5 container(s) on 3 host(s)");
    expect(statSync(join(dir, "state.yaml")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
    const plan = await runCli(["plan"], dir);
    expect(plan.stdout).toContain("No changes");
    expect(plan.code).toBe(0);
    await expectExactly(["a", "b", "c", "d", "e"]);
  }, 90_000);

  test("`berth state recover` refuses to overwrite a state file unless --force", async () => {
    const run = await runCli(["state", "recover", "--name-prefix", prefix], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--force");
    expect((await runCli(["state", "recover", "--force", "--name-prefix", prefix], dir)).code).toBe(0);
  }, 60_000);

  test(
    "recovered containers that differ are recreated and those not in the config removed: nothing orphaned",
    async () => {
      write(config(["a", "b", "c", "d"], "2"));
      rmSync(join(dir, "state.yaml"));
      const run = await runCli(["--json", "state", "recover", "--name-prefix", prefix], dir);
      expect(run.code).toBe(0);
      const kinds = Object.fromEntries(
        (JSON.parse(run.stdout).recovered as Array<{ name: string; kind: string }>).map((r) => [r.name, r.kind]),
      );
      expect(kinds).toEqual({
        [name("a")]: "desired",
        [name("b")]: "desired",
        [name("c")]: "desired",
        [name("d")]: "changed",
        [name("e")]: "orphan",
      });
      const plan = JSON.parse((await runCli(["--json", "plan"], dir)).stdout).plan;
      expect(plan.summary).toEqual({ recreate: 1, remove: 1 });
      const byName = Object.fromEntries(
        (plan.changes as Array<{ name: string; action: string }>).map((c) => [c.name, c.action]),
      );
      expect(byName["d"]).toBe("recreate");
      expect(byName[name("e")]).toBe("remove");
      expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
      expect((await runCli(["plan"], dir)).code).toBe(0);
      await expectExactly(["a", "b", "c", "d"]);
    },
    90_000,
  );

  test("`recoverState()` fails naming the host it could not ask, and writes nothing", async () => {
    const text = `${fleetHosts(env)}  gone: { ssh: { address: 198.18.0.99 } }\ncontainers:\n${
      containerYaml(env, "a", name("a"), "local")
    }${containerYaml(env, "x", name("x"), "gone")}`;
    tally("faults");
    const { desiredState } = configFromDocument(parseDocument(text, "config.yaml"), "config.yaml");
    const started = Date.now();
    const err = await recoverState(desiredState, { env: {} }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err?.code).toBe("CONNECT");
    expect(err?.message).toContain("198.18.0.99");
    expect(Date.now() - started).toBeLessThan(30_000);
    write(text);
    rmSync(join(dir, "state.yaml"));
    const run = await runCli(["state", "recover", "--name-prefix", prefix], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("198.18.0.99");
    expect(run.stderr).not.toContain("    at ");
    expect(existsSync(join(dir, "state.yaml"))).toBe(false);
  }, 60_000);
});

// The last apply left a and b on local, c on h1, d on h2 (the last test changes nothing).
endWithCensus(env, () => ({ local: [name("a"), name("b")], h1: [name("c")], h2: [name("d")] }));

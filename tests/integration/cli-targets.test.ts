/**
 * `--target` / `--host` on the real local engine: only the selected containers are planned and applied,
 * the others stay as they are on the engine and in state.yaml (checked through the engine's API and the file).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-cli-targets-"));
const prefix = `bt-target-${process.pid}`;

function config(keys: string[]): string {
  return `hosts:\n  node1: { direct: {} }\nruntime:\n  docker: { host: "unix://${env.local.socket}" }\ncontainers:\n${
    keys.map((k) =>
      `  ${k}: { name: ${prefix}-${k}, host: node1, image: ${env.image}, init: true, networkMode: none, args: [sleep, "100000"] }\n`
    ).join("")
  }`;
}
const write = (keys: string[]) => writeFileSync(join(dir, "config.yaml"), config(keys));
const stateKeys = () =>
  [...readFileSync(join(dir, "state.yaml"), "utf8").matchAll(/^ {2}([a-z]+):$/gm)].map((m) => m[1]);

/** Names of this test's containers on the engine. */
async function onEngine(): Promise<string[]> {
  const { body } = await dockerLocal(`/containers/json?all=1`);
  return (body as { Names: string[] }[]).map((c) => c.Names[0]?.slice(1) ?? "").filter((n) => n.startsWith(prefix))
    .sort();
}

afterAll(async () => {
  for (const name of await onEngine()) await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE" });
  rmSync(dir, { recursive: true, force: true });
});

describe("berth --target / --host", () => {
  test("apply --target a creates only a; the plan of the rest still shows b", async () => {
    write(["a", "b"]);
    const plan = await runCli(["plan", "--target", "a"], dir);
    expect({ code: plan.code, out: plan.stdout.includes(" b ") }).toEqual({ code: 2, out: false });
    const run = await runCli(["apply", "--yes", "--target", "a"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await onEngine()).toEqual([`${prefix}-a`]);
    expect(stateKeys()).toEqual(["a"]);
    const rest = await runCli(["plan"], dir);
    expect(rest.code).toBe(2);
    expect(rest.stdout).toContain("b create on node1 (local)");
  }, 60_000);

  test("apply --host node1 --target b adds b and keeps a in the state", async () => {
    const run = await runCli(["apply", "--yes", "--host", "node1", "--target", "b"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await onEngine()).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(stateKeys()).toEqual(["a", "b"]);
    expect((await runCli(["plan"], dir)).code).toBe(0);
  }, 60_000);

  test("a container dropped from the config is not removed by an apply that targets another", async () => {
    write(["b"]);
    const run = await runCli(["apply", "--yes", "--target", "b"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await onEngine()).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(stateKeys()).toEqual(["a", "b"]);
    // --target names a container of the state too: the removal is planned and done when asked for.
    const remove = await runCli(["apply", "--yes", "--target", "a"], dir);
    expect(remove.code).toBe(0);
    expect(await onEngine()).toEqual([`${prefix}-b`]);
    expect(stateKeys()).toEqual(["b"]);
  }, 60_000);
});

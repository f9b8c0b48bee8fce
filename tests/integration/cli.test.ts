/**
 * The `berth` CLI end to end on the real local engine: files, exit codes,
 * confirmation rules, locking, saved plans, JSON output.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-cli-"));
const prefix = `bt-cli-${process.pid}`;

function config(level: string, greeting: string, withWorker = true): string {
  return `
hosts:
  local: { direct: {} }
runtime:
  docker: { host: "unix://${env.local.socket}" }
containers:
  web:
    name: ${prefix}-web
    host: local
    image: ${env.image}
    init: true
    networkMode: none
    args: [sleep, "100000"]
    mounts: [ { source: ${dir}/data/, target: /data } ]
    configFiles:
      ${dir}/app.conf: |
        greeting = ${greeting}
${
    withWorker
      ? `
  worker:
    name: ${prefix}-worker
    host: local
    image: ${env.image}
    init: true
    networkMode: none
    env: { LEVEL: "${level}" }
    args: [sleep, "100000"]
`
      : ""
  }`;
}

const write = (text: string) => writeFileSync(join(dir, "config.yaml"), text);
const state = () => readFileSync(join(dir, "state.yaml"), "utf8");

async function containerIds(): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: ["berth.managed=true"] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`);
  return (body as { Id: string; Names: string[] }[]).filter((c) => c.Names[0]?.startsWith(`/${prefix}`)).map((c) =>
    c.Id
  ).sort();
}

afterAll(async () => {
  for (const id of await containerIds()) await dockerLocal(`/containers/${id}?force=1`, { method: "DELETE" });
  rmSync(dir, { recursive: true, force: true });
});

describe("berth CLI", () => {
  test("berth validate reports every problem with its path, exit 1, no stack trace", async () => {
    write(`containers:\n  a: { host: nowhere, imag: x }\n`);
    const run = await runCli(["validate"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("containers.a");
    expect(run.stderr).toContain("image");
    expect(run.stderr).not.toContain("    at ");
  });

  test("berth apply without a terminal and without --yes refuses and changes nothing", async () => {
    write(config("1", "hello"));
    const run = await runCli(["apply"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Pass --yes");
    expect(existsSync(join(dir, "state.yaml"))).toBe(false);
  });

  test("berth plan exits 2 with changes; berth apply --yes creates them and writes state.yaml 0600", async () => {
    const plan = await runCli(["plan"], dir);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("web create on local");
    expect(plan.stdout).toContain("Plan: 2 create.");
    const apply = await runCli(["apply", "--yes"], dir);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/2 created in \d+\.\ds\./);
    expect(statSync(join(dir, "state.yaml")).mode & 0o777).toBe(0o600);
    expect(state()).toContain(`${prefix}-web`);
    expect(await containerIds()).toHaveLength(2);
    expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
  }, 60_000);

  test("berth plan exits 0 when nothing changes; berth status shows the live status", async () => {
    const plan = await runCli(["plan"], dir);
    expect(plan.stdout).toContain("No changes");
    expect(plan.code).toBe(0);
    const status = await runCli(["status"], dir);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/local\s+web\s+running/);
  }, 60_000);

  test("berth plan --json gives the plan as data, and a changed config file says restart", async () => {
    write(config("1", "bonjour"));
    const run = await runCli(["--json", "plan"], dir);
    expect(run.code).toBe(2);
    const { plan } = JSON.parse(run.stdout);
    expect(plan.summary).toEqual({ "update-files": 1 });
    expect(plan.changes.find((c: { name: string }) => c.name === "web").reasons.join(" ")).toContain("restarted");
    const apply = await runCli(["apply", "--yes"], dir);
    expect(apply.code).toBe(0);
    expect(readFileSync(join(dir, "app.conf"), "utf8")).toBe("greeting = bonjour\n");
  }, 60_000);

  test("berth apply PLAN applies a reviewed plan, and refuses one made stale by a host change", async () => {
    write(config("2", "bonjour"));
    expect((await runCli(["plan", "--out", "plan.json"], dir)).code).toBe(2);
    const ids = await containerIds();
    // Stop a container by hand: the plan was made when it ran.
    await dockerLocal(`/containers/${ids[0]}/stop?t=1`, { method: "POST" });
    const stale = await runCli(["apply", "plan.json"], dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("no longer matches");
    expect((await runCli(["plan", "--out", "plan.json"], dir)).code).toBe(2);
    const fresh = await runCli(["apply", "plan.json"], dir);
    expect(fresh.code).toBe(0);
    expect((await runCli(["plan"], dir)).code).toBe(0);
  }, 60_000);

  test("a second apply while the state is locked is refused with the holder", async () => {
    writeFileSync(
      join(dir, "state.yaml.lock"),
      JSON.stringify({
        pid: process.pid,
        hostname: (await import("node:os")).hostname(),
        command: "berth apply",
        startedAt: "now",
      }),
    );
    const run = await runCli(["apply", "--yes"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`locked by process ${process.pid}`);
    rmSync(join(dir, "state.yaml.lock"));
  });

  test("a stale lock from a dead process is explained and taken over", async () => {
    writeFileSync(
      join(dir, "state.yaml.lock"),
      JSON.stringify({
        pid: 2 ** 22 + 7,
        hostname: (await import("node:os")).hostname(),
        command: "berth apply",
        startedAt: "then",
      }),
    );
    const run = await runCli(["apply", "--yes"], dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("which no longer runs");
  }, 60_000);

  test("a corrupt state file is refused and left untouched", async () => {
    const good = state();
    const corrupt = `${good}\n  - : [unbalanced\n`;
    writeFileSync(join(dir, "state.yaml"), corrupt);
    chmodSync(join(dir, "state.yaml"), 0o600);
    const run = await runCli(["apply", "--yes"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("left untouched");
    expect(state()).toBe(corrupt);
    writeFileSync(join(dir, "state.yaml"), good);
  });

  test("berth destroy --yes removes everything in the state", async () => {
    const run = await runCli(["destroy", "--yes"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("2 removed");
    expect(await containerIds()).toHaveLength(0);
    expect((await runCli(["plan"], dir)).code).toBe(2);
  }, 60_000);
});

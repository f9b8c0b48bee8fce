/**
 * Batches and dependsOn on the real SSH fleet, through the CLI: a change
 * rolls out host by host in the config's host order (the order read from
 * each host's engine events), a change that cannot start stops the rollout
 * after its batch with the other hosts' containers untouched, a dependency
 * on another host starts first, and a dependency cycle is refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv, type TestHost } from "../support/env.ts";

const env = loadTestEnv();
const [h1, h2, h3] = env.hosts as [TestHost, TestHost, TestHost];
const dir = mkdtempSync(join(tmpdir(), "berth-rollout-"));
const prefix = `bt-rollout-${process.pid}`;

interface Spec {
  host: TestHost;
  level?: string;
  /** An entrypoint that does not exist: the container is created but cannot start. */
  broken?: boolean;
  dependsOn?: string[];
  image?: string;
}

/** A config whose hosts: lists h2, h3, h1 in that order. */
function config(containers: Record<string, Spec>, rollout?: string): string {
  const lines = [
    "ssh:",
    `  privateKeyPath: ${env.ssh.privateKeyPath}`,
    `  knownHostsFile: ${env.ssh.knownHostsFile}`,
    "  connectionTimeout: 5s",
    "hosts:",
    `  ${h2.name}: { ssh: { address: ${h2.address} } }`,
    `  ${h3.name}: { ssh: { address: ${h3.address}, jump: [ { address: ${env.bastion.address} } ] } }`,
    `  ${h1.name}: { ssh: { address: ${h1.address} } }`,
    ...(rollout === undefined ? [] : [`rollout: ${rollout}`]),
    "containers:",
  ];
  for (const [name, spec] of Object.entries(containers)) {
    lines.push(
      `  ${name}:`,
      `    name: ${prefix}-${name}`,
      `    host: ${spec.host.name}`,
      `    image: ${spec.image ?? env.image}`,
      // Without an init the engine itself runs the entrypoint: a missing one fails the start.
      ...(spec.broken ? [] : ["    init: true"]),
      "    networkMode: none",
      `    entrypoint: [${spec.broken ? "/no/such/program" : "sleep"}]`,
      `    args: ["100000"]`,
      `    env: { LEVEL: "${spec.level ?? "1"}" }`,
      ...(spec.dependsOn === undefined ? [] : [`    dependsOn: [${spec.dependsOn.join(", ")}]`]),
    );
  }
  return `${lines.join("\n")}\n`;
}

async function berth(name: string, text: string, ...args: string[]) {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return await runCli(["-c", path, "-s", join(dir, `${name}.state.yaml`), ...args], dir);
}

/** One of this test's container events on a host's engine. */
interface Seen {
  host: string;
  name: string;
  action: string;
  timeNano: number;
}

/** The events of these containers on the hosts' engines since `since` (seconds), in time order. */
async function events(since: number, names: string[]): Promise<Seen[]> {
  const until = Date.now() / 1000 + 1;
  const seen: Seen[] = [];
  for (const host of [h1, h2, h3]) {
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"] }));
    const { status, body } = await dockerLocal(`/events?since=${since}&until=${until}&filters=${filters}`, {
      socket: host.dockerSocket,
    });
    expect(status).toBe(200);
    const text = typeof body === "string" ? body : JSON.stringify(body);
    for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
      const e = JSON.parse(line) as { Action: string; timeNano: number; Actor: { Attributes: { name?: string } } };
      const name = e.Actor.Attributes.name ?? "";
      if (names.some((n) => name === `${prefix}-${n}`)) {
        seen.push({ host: host.name, name: name.slice(prefix.length + 1), action: e.Action, timeNano: e.timeNano });
      }
    }
  }
  return seen.sort((a, b) => a.timeNano - b.timeNano);
}

/** A container's id and state on a host's engine, read there directly. */
async function inspect(host: TestHost, name: string): Promise<{ id: string; running: boolean } | undefined> {
  const { status, body } = await dockerLocal(`/containers/${prefix}-${name}/json`, { socket: host.dockerSocket });
  if (status === 404) return undefined;
  const c = body as { Id: string; State: { Running: boolean } };
  return { id: c.Id, running: c.State.Running };
}

afterAll(async () => {
  for (const host of [h1, h2, h3]) {
    const filters = encodeURIComponent(JSON.stringify({ name: [prefix] }));
    const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket: host.dockerSocket });
    for (const c of body as Array<{ Id: string }>) {
      await dockerLocal(`/containers/${c.Id}?force=1`, { method: "DELETE", socket: host.dockerSocket });
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("rollout on the fleet", () => {
  const three = (level: string, broken = false, image?: string): Record<string, Spec> => ({
    a1: { host: h1, level, broken, ...(image === undefined ? {} : { image }) },
    a2: { host: h2, level, broken, ...(image === undefined ? {} : { image }) },
    a3: { host: h3, level, broken, ...(image === undefined ? {} : { image }) },
  });

  test(
    "changes roll through the hosts one batch after another, in hosts: order, with the pause between",
    async () => {
      const rollout = "{ batch: 1, pause: 300ms }";
      const planned = await berth("roll", config(three("1"), rollout), "plan", "--json");
      expect(planned.code).toBe(2);
      const plan = JSON.parse(planned.stdout).plan as {
        changes: Array<{ name: string; batch: number }>;
        rollout: { batchHostNames: string[][] };
      };
      expect(plan.changes.map((c) => [c.name, c.batch])).toEqual([["a1", 3], ["a2", 1], ["a3", 2]]);
      expect(plan.rollout.batchHostNames).toEqual([[h2.name], [h3.name], [h1.name]]);

      const startedNs = Date.now() * 1e6;
      const changed = await berth("roll", config(three("1"), rollout), "apply", "--yes");
      expect(changed.stderr).toBe("");
      expect(changed.code).toBe(0);
      expect(changed.stdout).toContain(`Batch 1 of 3: ${h2.name}`);
      expect(changed.stdout).toContain(`Batch 3 of 3: ${h1.name}`);
      const seen = (await events(startedNs / 1e9 - 1, ["a1", "a2", "a3"])).filter((e) => e.timeNano >= startedNs);
      // Every event on a host (create, start) comes before any on the next host of hosts:.
      expect(seen.map((e) => e.host).filter((h, i, all) => all.indexOf(h) === i)).toEqual([h2.name, h3.name, h1.name]);
      for (const [earlier, later] of [[h2, h3], [h3, h1]] as Array<[TestHost, TestHost]>) {
        expect(seen.filter((e) => e.host === earlier.name).map((e) => e.action).slice(-2)).toEqual(["create", "start"]);
        const lastOf = Math.max(...seen.filter((e) => e.host === earlier.name).map((e) => e.timeNano));
        const firstOf = Math.min(...seen.filter((e) => e.host === later.name).map((e) => e.timeNano));
        expect(firstOf - lastOf).toBeGreaterThanOrEqual(250e6); // the 300ms pause, less clock rounding
      }
    },
    60_000,
  );

  test(
    "a change that cannot start stops the rollout after the first host; the others keep running untouched",
    async () => {
      const rollout = "{ batch: 1 }";
      const before = { a1: await inspect(h1, "a1"), a2: await inspect(h2, "a2"), a3: await inspect(h3, "a3") };
      expect(before.a1?.running).toBe(true);
      expect(before.a3?.running).toBe(true);

      const run = await berth("roll", config(three("3", true), rollout), "apply", "--yes");
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`a2 recreate on ${h2.name}`);
      expect(run.stdout).toContain(`not started: the rollout stopped after a failure on host ${h2.address}`);
      expect(run.stdout).toContain("1 failed, 2 not started.");
      expect(await inspect(h1, "a1")).toEqual(before.a1);
      expect(await inspect(h3, "a3")).toEqual(before.a3);
      // On h2 the new container failed its gate: the old one is back, running.
      expect(await inspect(h2, "a2")).toEqual(before.a2);

      // The state says what runs: the untouched hosts keep their recorded ids, so their plan is still the change.
      const state = readFileSync(join(dir, "roll.state.yaml"), "utf8");
      expect(state).toContain(before.a1?.id as string);
      expect(state).toContain(before.a3?.id as string);
      const again = await berth("roll", config(three("1"), rollout), "plan", "--json");
      const actions = (JSON.parse(again.stdout).plan.changes as Array<{ name: string; action: string }>)
        .map((c) => [c.name, c.action]);
      expect(actions).toEqual([["a1", "nothing"], ["a2", "nothing"], ["a3", "nothing"]]);
    },
    60_000,
  );

  test(
    "a bad image tag with batch 1: every pull fails first, nothing is stopped, all three keep running, the state is true",
    async () => {
      const rollout = "{ batch: 1 }";
      const before = [await inspect(h1, "a1"), await inspect(h2, "a2"), await inspect(h3, "a3")];
      // Nothing listens there: each host's pull is refused at once.
      const run = await berth(
        "roll",
        config(three("1", false, "127.0.0.1:5000/berth/no-such-tag:3"), rollout),
        "apply",
        "--yes",
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(
        new RegExp(`! a2 recreate on ${h2.name} .*failed.*127\\.0\\.0\\.1:5000/berth/no-such-tag:3`),
      );
      expect([await inspect(h1, "a1"), await inspect(h2, "a2"), await inspect(h3, "a3")]).toEqual(before);
      for (const c of before) expect(c?.running).toBe(true);
      const state = readFileSync(join(dir, "roll.state.yaml"), "utf8");
      for (const c of before) expect(state).toContain(c?.id as string);
      expect((await berth("roll", config({}), "destroy", "--yes")).code).toBe(0);
    },
    60_000,
  );

  test("dependsOn across two hosts: the dependency is running before its dependent is created", async () => {
    const since = Date.now() / 1000 - 1;
    const specs: Record<string, Spec> = { app: { host: h1, dependsOn: ["db"] }, db: { host: h2 } };
    const planned = await berth("deps", config(specs), "plan");
    expect(planned.stdout).toContain(`app create on ${h1.name}`);
    expect(planned.stdout).toContain("(after db)");
    const run = await berth("deps", config(specs), "apply", "--yes");
    expect(run.code).toBe(0);
    const seen = await events(since, ["app", "db"]);
    const at = (name: string, action: string) => seen.find((e) => e.name === name && e.action === action)?.timeNano;
    expect(at("db", "start")).toBeDefined();
    expect(at("app", "create")).toBeDefined();
    expect(at("db", "start") as number).toBeLessThan(at("app", "create") as number);
    expect((await berth("deps", config({}), "destroy", "--yes")).code).toBe(0);
  }, 60_000);

  test("a dependency cycle is refused by validate and plan, naming the cycle", async () => {
    const specs: Record<string, Spec> = {
      api: { host: h1, dependsOn: ["web"] },
      web: { host: h2, dependsOn: ["api"] },
    };
    for (const command of ["validate", "plan"]) {
      const run = await berth("cycle", config(specs), command);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("containers.api.dependsOn: dependency cycle api -> web -> api");
    }
  });
});

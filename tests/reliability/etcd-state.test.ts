/**
 * The etcd state backend under faults, with real etcd 3.4 (tests/env/etcd.sh)
 * and the real local engine: concurrent applies from two processes, berth
 * SIGKILLed mid-apply, the etcd leader killed mid-apply, migrate file ->
 * etcd -> file, a stale push. What etcd holds is read through its gateway
 * and what the engine runs through its own API, not through berth.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { ContainersState } from "../../core/model.ts";
import { parseDocument, stateFromDocument } from "../../core/serialize.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { etcdDeletePrefix, etcdGet, etcdLeader, loadEtcdEnv } from "../support/etcd-env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, containerYaml, removeByPrefix, sleep, spawnCli } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const etcd = loadEtcdEnv();
const single = etcd.single.endpoints[0] as string;
const dir = mkdtempSync(join(tmpdir(), "berth-rel-etcd-"));
const prefix = `rel-etcd-${process.pid}`;
const keyPrefix = `/berth-test/rel-${process.pid}/`;

/** A config on the local engine whose `backend:` is etcd (so no --state is passed). */
function config(keys: string[], round: number, backend: { endpoints: string[]; prefix: string; ttl?: string }): string {
  const ttl = backend.ttl === undefined ? "" : `, lockTtl: ${backend.ttl}`;
  return `backend:\n  etcd: { endpoints: [${backend.endpoints.join(", ")}], prefix: ${backend.prefix}${ttl} }\n` +
    `hosts:\n  local: { direct: {} }\ncontainers:\n${
      keys.map((k) => containerYaml(env, k, `${prefix}-${k}`, "local", `, env: { ROUND: "${round}" }`)).join("")
    }`;
}

/** The state as etcd holds it, read through the gateway. */
async function stateInEtcd(endpoint: string, keys: string): Promise<ContainersState | undefined> {
  const kv = await etcdGet(endpoint, `${keys}state`);
  if (kv === undefined) return undefined;
  return stateFromDocument(parseDocument(gunzipSync(kv.value).toString(), "etcd"), "etcd");
}

/** Every container the state records runs on the engine with the recorded ID. */
async function untrueEntries(state: ContainersState): Promise<string[]> {
  const wrong: string[] = [];
  for (const [name, hcc] of Object.entries(state)) {
    const id = hcc.container.status?.id;
    const { status, body } = await dockerLocal(`/containers/${id ?? "none"}/json`, { socket: env.local.socket });
    const running = status === 200 && (body as { State: { Running: boolean } }).State.Running;
    if (id === undefined || !running) wrong.push(`${name} (${id ?? "no id"})`);
  }
  return wrong;
}

const names = (keys: string[]) => keys.map((k) => `${prefix}-${k}`);

afterAll(async () => {
  await removeByPrefix(env.local.socket, prefix);
  await etcdDeletePrefix(single, keyPrefix);
  await etcdDeletePrefix(etcd.cluster.endpoints[0] as string, keyPrefix).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("etcd state under faults", () => {
  test(
    "two `berth apply` from two processes on one etcd state: one proceeds, the other is refused naming the holder, or waits with --lock-timeout",
    async () => {
      const keys = ["a", "b", "c", "d"];
      const backend = { endpoints: [single], prefix: `${keyPrefix}conc/` };
      for (let round = 1; round <= 3; round++) {
        writeFileSync(join(dir, "conc.yaml"), config(keys, round, backend));
        // Round 3: the second run waits for the first instead of being refused.
        const wait = round === 3 ? ["--lock-timeout", "2m"] : [];
        const args = ["-c", join(dir, "conc.yaml"), ...wait, "apply", "--yes"];
        const runs = [spawnCli(args), spawnCli(args)];
        tally("faults");
        const exits = await Promise.all(runs.map((r) => r.exited));
        const where = runs.map((r, i) => `run ${i}: exit ${exits[i]?.code}\n${r.stdout}\n${r.stderr}`).join("\n");
        const worked = runs.filter((r) => /(created|recreated) on /.test(r.stdout));
        expect({ where, worked: worked.length }).toEqual({ where, worked: 1 });
        const other = runs.find((r) => !worked.includes(r));
        if (round === 3) {
          expect({ where, waited: other?.stdout.includes("No changes") }).toEqual({ where, waited: true });
          expect(exits.map((e) => e.code)).toEqual([0, 0]);
        } else if (other?.stderr.includes("is locked by")) {
          expect(other.stderr).toMatch(/is locked by process \d+ on \S+ \(berth apply, since \d{4}-/);
        } else expect(other?.stdout).toContain("No changes");
        expect(await etcdGet(single, `${backend.prefix}lock`)).toBe(undefined);
        expect(await census(env.local.socket, prefix, names(keys))).toEqual({ lost: [], duplicated: [], orphans: [] });
        expect(await untrueEntries((await stateInEtcd(single, backend.prefix)) ?? {})).toEqual([]);
        expect((await runCli(["-c", join(dir, "conc.yaml"), "plan"], dir)).code).toBe(0);
      }
    },
    240_000,
  );

  test("SIGKILL during an apply: the lock frees itself after the lease TTL, and the next apply converges", async () => {
    await removeByPrefix(env.local.socket, prefix);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const backend = { endpoints: [single], prefix: `${keyPrefix}kill/`, ttl: "3s" };
    const file = join(dir, "kill.yaml");
    writeFileSync(file, config(keys, 1, backend));
    const run = spawnCli(["-c", file, "apply", "--yes"]);
    await run.waitFor(/created on local/, 60_000);
    run.child.kill("SIGKILL");
    const killedAt = Date.now();
    await run.exited;
    tally("faults");
    expect((await etcdGet(single, `${backend.prefix}lock`))?.lease).not.toBe("0");
    // While the lease lives, another run is refused naming the killed holder.
    const refused = await runCli(["-c", file, "apply", "--yes"], dir);
    expect(refused.stderr).toContain(`is locked by process ${run.child.pid} on`);
    while ((await etcdGet(single, `${backend.prefix}lock`)) !== undefined && Date.now() - killedAt < 20_000) {
      await sleep(100);
    }
    const freedMs = Date.now() - killedAt;
    console.log(`etcd lock of a SIGKILLed run freed ${freedMs} ms after the kill (lease TTL 3 s)`);
    expect(freedMs < 3000 + 2500).toBe(true);
    // What the killed run recorded is true; the next apply adopts or creates the rest.
    expect(await untrueEntries((await stateInEtcd(single, backend.prefix)) ?? {})).toEqual([]);
    const next = await runCli(["-c", file, "apply", "--yes"], dir);
    expect({ code: next.code, out: next.stdout + next.stderr }).toEqual({ code: 0, out: next.stdout + next.stderr });
    expect(await census(env.local.socket, prefix, names(keys))).toEqual({ lost: [], duplicated: [], orphans: [] });
    const state = (await stateInEtcd(single, backend.prefix)) ?? {};
    expect(Object.keys(state).sort()).toEqual([...keys].sort());
    expect(await untrueEntries(state)).toEqual([]);
    expect((await runCli(["-c", file, "plan"], dir)).code).toBe(0);
  }, 180_000);

  test(
    "a run whose lock is taken away mid-apply stops before its next step and says so; the state stays true",
    async () => {
      await removeByPrefix(env.local.socket, prefix);
      const keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
      const backend = { endpoints: [single], prefix: `${keyPrefix}lost/`, ttl: "2s" };
      const file = join(dir, "lost.yaml");
      writeFileSync(file, config(keys, 1, backend));
      const run = spawnCli(["-c", file, "apply", "--yes"]);
      await run.waitFor(/created on local/, 60_000);
      // What an expired lease looks like to the run: its lock key is gone.
      expect((await runCli(["-c", file, "state", "unlock", "--force"], dir)).stdout).toContain(
        `held by process ${run.child.pid} on`,
      );
      tally("faults");
      const exit = await run.exited;
      const out = `${run.stdout}\n${run.stderr}`;
      expect({ code: exit.code, out }).toEqual({ code: 1, out });
      expect(run.stderr).toContain("Lost the lock on etcd://");
      expect(run.stderr).toContain("Stopped before the next step");
      expect((run.stdout.match(/created on local/g) ?? []).length < keys.length).toBe(true);
      expect(await untrueEntries((await stateInEtcd(single, backend.prefix)) ?? {})).toEqual([]);
      const next = await runCli(["-c", file, "apply", "--yes"], dir);
      expect({ code: next.code, out: next.stdout + next.stderr }).toEqual({ code: 0, out: next.stdout + next.stderr });
      expect(await census(env.local.socket, prefix, names(keys))).toEqual({ lost: [], duplicated: [], orphans: [] });
    },
    180_000,
  );

  test(
    "etcd out of reach for longer than the lease (member paused): the run stops before its next step, the state stays true",
    async () => {
      await removeByPrefix(env.local.socket, prefix);
      const keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
      const backend = { endpoints: [single], prefix: `${keyPrefix}paused/`, ttl: "2s" };
      const file = join(dir, "paused.yaml");
      writeFileSync(file, config(keys, 1, backend));
      const pid = Number(readFileSync(join(etcd.dir, "single", "pid"), "utf8"));
      const run = spawnCli(["-c", file, "apply", "--yes"]);
      await run.waitFor(/created on local/, 60_000);
      process.kill(pid, "SIGSTOP");
      tally("faults");
      try {
        await sleep(5000);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      const exit = await run.exited;
      const out = `${run.stdout}\n${run.stderr}`;
      expect({ code: exit.code, out }).toEqual({ code: 1, out });
      expect(run.stderr).toContain("Lost the lock on etcd://");
      expect((run.stdout.match(/created on local/g) ?? []).length < keys.length).toBe(true);
      expect(await untrueEntries((await stateInEtcd(single, backend.prefix)) ?? {})).toEqual([]);
      const next = await runCli(["-c", file, "--lock-timeout", "10s", "apply", "--yes"], dir);
      expect({ code: next.code, out: next.stdout + next.stderr }).toEqual({ code: 0, out: next.stdout + next.stderr });
      expect(await census(env.local.socket, prefix, names(keys))).toEqual({ lost: [], duplicated: [], orphans: [] });
    },
    180_000,
  );

  test(
    "the etcd leader killed during an apply on a 3-member cluster: the apply completes or fails cleanly, and etcd's state is true",
    async () => {
      await removeByPrefix(env.local.socket, prefix);
      const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
      const backend = { endpoints: etcd.cluster.endpoints, prefix: `${keyPrefix}leader/` };
      const file = join(dir, "leader.yaml");
      writeFileSync(file, config(keys, 1, backend));
      const leader = await etcdLeader(etcd);
      const run = spawnCli(["-c", file, "apply", "--yes"]);
      try {
        await run.waitFor(/created on local/, 60_000);
        process.kill(Number(readFileSync(leader.pidFile, "utf8")), "SIGKILL");
        tally("faults");
        const exit = await run.exited;
        const out = `${run.stdout}\n${run.stderr}`;
        console.log(
          `leader ${leader.name} killed during an apply: exit ${exit.code}; ${run.stderr.trim() || "no error"}`,
        );
        expect({ code: [0, 1].includes(exit.code ?? -1), out }).toEqual({ code: true, out });
        expect(run.stderr).not.toContain("unexpected error");
      } finally {
        await restartMembers();
      }
      const survivor = etcd.cluster.members.find((m) => m.name !== leader.name)?.endpoint as string;
      expect(await untrueEntries((await stateInEtcd(survivor, backend.prefix)) ?? {})).toEqual([]);
      const next = await runCli(["-c", file, "apply", "--yes"], dir);
      expect({ code: next.code, out: next.stdout + next.stderr }).toEqual({ code: 0, out: next.stdout + next.stderr });
      expect(await census(env.local.socket, prefix, names(keys))).toEqual({ lost: [], duplicated: [], orphans: [] });
      const state = (await stateInEtcd(survivor, backend.prefix)) ?? {};
      expect(Object.keys(state).sort()).toEqual([...keys].sort());
      expect(await untrueEntries(state)).toEqual([]);
    },
    180_000,
  );

  test("migrate file -> etcd -> file gives an identical file; a push with a stale revision is refused", async () => {
    await removeByPrefix(env.local.socket, prefix);
    const keys = ["a", "b"];
    const file = join(dir, "mig.yaml");
    const url = `etcd://${single}${keyPrefix}mig/`;
    writeFileSync(
      file,
      `hosts:\n  local: { direct: {} }\ncontainers:\n${
        keys.map((k) => containerYaml(env, k, `${prefix}-${k}`, "local")).join("")
      }`,
    );
    expect((await runCli(["-c", file, "-s", "first.yaml", "apply", "--yes"], dir)).code).toBe(0);
    const there = await runCli(["-s", "first.yaml", "state", "migrate", "--to", url], dir);
    expect(there.stdout).toContain("Migrated 2 container(s)");
    const back = await runCli(["-s", url, "state", "migrate", "--to", "second.yaml"], dir);
    expect(back.code).toBe(0);
    expect(readFileSync(join(dir, "second.yaml"), "utf8")).toBe(readFileSync(join(dir, "first.yaml"), "utf8"));
    // A second migrate onto a state already there is refused.
    expect((await runCli(["-s", "first.yaml", "state", "migrate", "--to", url], dir)).stderr).toContain(
      "already holds a state",
    );

    // Two operators pull the same revision; the first push wins, the second is refused.
    const pulled = await runCli(["-s", url, "state", "pull"], dir);
    const revision = /at revision (\d+)/.exec(pulled.stderr)?.[1] as string;
    writeFileSync(join(dir, "pulled.yaml"), pulled.stdout);
    const first = await runCli(["-s", url, "state", "push", "pulled.yaml", "--yes", "--revision", revision], dir);
    expect(first.code).toBe(0);
    const stale = await runCli(["-s", url, "state", "push", "second.yaml", "--yes", "--revision", revision], dir);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`not ${revision}: it changed since you read it, and nothing was pushed`);
    expect((await runCli(["-c", file, "-s", url, "plan"], dir)).code).toBe(0);
  }, 120_000);
});

/** Starts the killed member again (tests/env/etcd.sh up is idempotent) and waits for a leader. */
async function restartMembers(): Promise<void> {
  const script = new URL("../env/etcd.sh", import.meta.url).pathname;
  await new Promise<void>((resolve, reject) =>
    execFile(
      "bash",
      [script, "up"],
      { timeout: 60_000 },
      (err, _out, stderr) => err === null ? resolve() : reject(new Error(`etcd.sh up: ${stderr}`)),
    )
  );
  await etcdLeader(etcd);
}

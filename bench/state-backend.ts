/**
 * The time the etcd state backend adds to an apply over the state file:
 * the same workload (H hosts x K containers of the test fleet, over SSH)
 * applied with `--state state.yaml` and with `--state etcd://...`, runs
 * alternating, in process (`main()`), so start-up is not measured twice.
 * Scenarios: first converge, no-op, one container recreated, destroy.
 * Then the state traffic of one apply alone (lock, read, one write per
 * step, release), which is what the backend changes, without the hosts' noise.
 *
 *   bash tests/env/up.sh && bash tests/env/etcd.sh up
 *   bun bench/state-backend.ts [--hosts 3] [--per-host 10] [--runs 3]
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ContainersState } from "../core/model.ts";
import { parseDocument, stateFromDocument } from "../core/serialize.ts";
import { EtcdBackend } from "../store/etcd-backend.ts";
import { FileBackend } from "../store/file-backend.ts";
import type { StateBackend } from "../store/backend.ts";
import { runCli } from "../tests/support/cli.ts";
import { loadTestEnv } from "../tests/support/env.ts";
import { etcdDeletePrefix, loadEtcdEnv } from "../tests/support/etcd-env.ts";
import { containerYaml, fleetHosts, removeByPrefix, socketOf } from "../tests/reliability/fleet.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "3" },
    "per-host": { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
  },
});
const H = Number(values.hosts);
const K = Number(values["per-host"]);
const RUNS = Number(values.runs);
const env = loadTestEnv();
const etcd = loadEtcdEnv();
const endpoint = etcd.single.endpoints[0] as string;
const dir = mkdtempSync(join(tmpdir(), "berth-bench-state-"));
const prefix = "bench-state";
const hosts = env.hosts.slice(0, H).map((h) => h.name);

function config(changed: boolean): string {
  const entries: string[] = [];
  for (const host of hosts) {
    for (let i = 0; i < K; i++) {
      const value = changed && host === hosts[0] && i === 0 ? "2" : "1";
      entries.push(containerYaml(env, `${host}-c${i}`, `${prefix}-${host}-c${i}`, host, `, env: { V: "${value}" }`));
    }
  }
  return `${fleetHosts(env)}containers:\n${entries.join("")}`;
}

const SCENARIOS = ["first converge", "no-op", "one recreated", "destroy"] as const;
type Times = Record<(typeof SCENARIOS)[number], number[]>;
const empty = (): Times => ({ "first converge": [], "no-op": [], "one recreated": [], destroy: [] });
const times = { file: empty(), etcd: empty() };

async function timed(args: string[]): Promise<number> {
  const started = performance.now();
  const run = await runCli(args, dir);
  const seconds = (performance.now() - started) / 1000;
  if (run.code !== 0) throw new Error(`berth ${args.join(" ")}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
  return seconds;
}

async function clean(): Promise<void> {
  for (const host of ["local", ...hosts]) await removeByPrefix(socketOf(env, host), prefix);
  rmSync(join(dir, "state.yaml"), { force: true });
  await etcdDeletePrefix(endpoint, "/berth-bench/");
}

let recorded: ContainersState = {};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const backend of run % 2 === 0 ? ["file", "etcd"] as const : ["etcd", "file"] as const) {
      await clean();
      const state = backend === "file" ? "state.yaml" : `etcd://${endpoint}/berth-bench/`;
      const args = (...rest: string[]) => ["-c", join(dir, "config.yaml"), "-s", state, ...rest];
      writeFileSync(join(dir, "config.yaml"), config(false));
      times[backend]["first converge"].push(await timed(args("apply", "--yes")));
      if (backend === "file") {
        recorded = stateFromDocument(parseDocument(readFileSync(join(dir, "state.yaml"), "utf8"), "s"), "s");
      }
      times[backend]["no-op"].push(await timed(args("apply", "--yes")));
      writeFileSync(join(dir, "config.yaml"), config(true));
      times[backend]["one recreated"].push(await timed(args("apply", "--yes")));
      times[backend].destroy.push(await timed(args("destroy", "--yes")));
      console.error(`run ${run + 1}/${RUNS} ${backend} done`);
    }
  }
} finally {
  await clean();
}

/** One apply's state traffic: lock, read, `writes` writes, release; milliseconds per part. */
async function traffic(backend: StateBackend, writes: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const lock = await backend.lock({ command: "bench" });
  const t1 = performance.now();
  await backend.read();
  const t2 = performance.now();
  for (let i = 0; i < writes; i++) await backend.write(recorded);
  const t3 = performance.now();
  await lock.release();
  const t4 = performance.now();
  return { lock: t1 - t0, read: t2 - t1, write: (t3 - t2) / writes, release: t4 - t3, total: t4 - t0 };
}

const WRITES = H * K + 2; // at most one write per step, plus the first and last
const REPS = 20;
const parts: Record<"file" | "etcd", Array<Record<string, number>>> = { file: [], etcd: [] };
try {
  for (let rep = 0; rep < REPS; rep++) {
    const file = new FileBackend(join(dir, "traffic.yaml"));
    parts.file.push(await traffic(file, WRITES));
    const etcdBackend = new EtcdBackend({ endpoints: [endpoint], prefix: "/berth-bench/" }, "bench");
    parts.etcd.push(await traffic(etcdBackend, WRITES));
    await etcdBackend.close();
  }
} finally {
  await clean();
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`${H} hosts x ${K} containers, ${RUNS} runs each, median (min-max) seconds of one apply, in process`);
console.log("| scenario | file | etcd | etcd - file |\n| --- | --- | --- | --- |");
for (const s of SCENARIOS) {
  const f = times.file[s];
  const e = times.etcd[s];
  const cell = (xs: number[]) =>
    `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
  console.log(`| ${s} | ${cell(f)} | ${cell(e)} | ${(median(e) - median(f)).toFixed(2)} |`);
}
console.log(
  `\nState traffic of one apply (${
    Object.keys(recorded).length
  } containers, lock + read + ${WRITES} writes + release), median of ${REPS}, ms`,
);
console.log("| part | file | etcd |\n| --- | --- | --- |");
for (const part of ["lock", "read", "write", "release", "total"]) {
  const cell = (xs: Array<Record<string, number>>) => median(xs.map((x) => x[part] as number)).toFixed(2);
  console.log(`| ${part}${part === "write" ? " (each)" : ""} | ${cell(parts.file)} | ${cell(parts.etcd)} |`);
}

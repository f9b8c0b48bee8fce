/**
 * The same example converged through the Docker plugin and through the
 * kubelet (CRI) plugin in one run: 10 containers with a config file each on
 * this machine. Prints first-apply, no-op plan and destroy times.
 *
 *   bash tests/env/up.sh && bash tests/env/containerd.sh up
 *   node --import tsx bench/runtimes.ts        (or: node_modules/.bin/bun bench/runtimes.ts)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainersState, RuntimeConfig } from "../core/model.ts";
import { ContainersResource } from "../engine/containers.ts";

const COUNT = 10;
const testDir = process.env["BERTH_TEST_DIR"] ?? "/tmp/berth-test";
const criDir = process.env["BERTH_CRI_DIR"] ?? "/tmp/berth-cri";
const docker = JSON.parse(readFileSync(`${testDir}/env.json`, "utf8")) as { image: string; local: { socket: string } };
const cri = JSON.parse(readFileSync(`${criDir}/env.json`, "utf8")) as { image: string; local: { socket: string } };

interface Case {
  name: string;
  runtime: RuntimeConfig;
  image: string;
  networkMode: string;
}

const cases: Case[] = [
  {
    name: "docker",
    runtime: { docker: { host: `unix://${docker.local.socket}` } },
    image: docker.image,
    networkMode: "none",
  },
  {
    name: "kubelet (CRI)",
    runtime: { kubelet: { address: `unix://${cri.local.socket}` } },
    image: cri.image,
    networkMode: "host",
  },
];

function example(c: Case, dir: string, tag: string): ContainersState {
  const state: ContainersState = {};
  for (let i = 0; i < COUNT; i++) {
    state[`svc${i}`] = {
      container: {
        config: {
          name: `bench-${tag}-${process.pid}-${i}`,
          image: c.image,
          entrypoint: ["sh", "-c"],
          args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
          networkMode: c.networkMode,
          env: { INDEX: String(i) },
        },
        runtime: c.runtime,
      },
      host: { directConfig: {} },
      configFiles: { [join(dir, `svc${i}.conf`)]: `index = ${i}\n` },
    };
  }
  return state;
}

/** One check + plan (+ apply); returns milliseconds and the new state. */
async function run(
  previous: ContainersState,
  desired: ContainersState,
  applyIt: boolean,
): Promise<{ ms: number; state: ContainersState; changes: number }> {
  const started = performance.now();
  const resource = new ContainersResource({ previousState: previous, desiredState: desired });
  try {
    await resource.checkCurrentState();
    const plan = resource.plan();
    const changes = plan.changes.filter((ch) => ch.action !== "nothing").length;
    if (!applyIt) return { ms: performance.now() - started, state: previous, changes };
    const result = await resource.apply();
    if (result.failed > 0) throw new Error(result.results.find((r) => !r.ok)?.error?.message ?? "apply failed");
    return { ms: performance.now() - started, state: result.state, changes };
  } finally {
    await resource.close();
  }
}

const rows: string[][] = [];
for (const c of cases) {
  const dir = mkdtempSync(join(tmpdir(), "berth-bench-"));
  try {
    const desired = example(c, dir, c.name.split(" ")[0] as string);
    const first = await run({}, desired, true);
    const noop = await run(first.state, desired, false);
    if (noop.changes !== 0) throw new Error(`${c.name}: the no-op plan has ${noop.changes} changes`);
    const destroy = await run(first.state, {}, true);
    rows.push([c.name, `${first.ms.toFixed(0)} ms`, `${noop.ms.toFixed(0)} ms`, `${destroy.ms.toFixed(0)} ms`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const header = ["runtime", `first apply (${COUNT} containers + files)`, "no-op plan", "destroy"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of rows) console.log(line(row));

/**
 * The time health gates add to a rollout: the same recreate (an env var
 * changed) of K containers on each of H test hosts (Docker over SSH, h3 through the bastion),
 * applied with no gate (`gate: {none: true}`), with the default gate
 * (running 0.25 s) and with a healthcheck gate (Docker runs `test -f`, every
 * 500 ms), runs alternating, through the library in one process. Prints the
 * medians and each gate's extra time over no gate, with the machine's load
 * (it is shared: the figures are noisy), and writes them to bench/results/gates.md.
 *
 *   bash tests/env/up.sh
 *   bun bench/gates.ts [--hosts 3] [--per-host 2] [--runs 3]
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ContainerConfig, ContainersState } from "../core/model.ts";
import { ContainersResource } from "../engine/containers.ts";
import { applySucceeded } from "../engine/apply.ts";
import { loadTestEnv } from "../tests/support/env.ts";
import { removeByPrefix } from "../tests/reliability/fleet.ts";
import { machine, stats } from "./measure.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "3" },
    "per-host": { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
  },
});
const H = Number(values.hosts);
const K = Number(values["per-host"]);
const RUNS = Number(values.runs);
const env = loadTestEnv();
const hosts = env.hosts.slice(0, H);
if (hosts.length < H) throw new Error(`the test fleet has ${hosts.length} hosts, not ${H}`);
const PREFIX = "bench-gate";
const key = { user: env.ssh.user, privateKeyPath: env.ssh.privateKeyPath, knownHostsFile: env.ssh.knownHostsFile };
const bastion = { address: env.bastion.address, port: env.bastion.port, ...key };

const GATES: Record<string, Partial<ContainerConfig>> = {
  "no gate": { gate: { none: true } },
  "default (running 0.25s)": {},
  "healthcheck (every 500ms)": {
    healthcheck: { test: ["test", "-f", "/tmp/ready"], interval: "500ms", retries: 3 },
  },
};

function desired(gate: Partial<ContainerConfig>, value: string): ContainersState {
  const state: ContainersState = {};
  for (const h of hosts) {
    for (let k = 0; k < K; k++) {
      const name = `${PREFIX}-${h.name}-${k}`;
      state[name] = {
        container: {
          config: {
            name,
            image: env.image,
            init: true,
            networkMode: "host",
            env: { BENCH_VALUE: value },
            args: ["sh", "-c", "touch /tmp/ready; exec sleep 100000"],
            ...gate,
          },
          runtime: { docker: {} },
        },
        host: { sshConfig: { address: h.address, port: h.port, ...key, ...(h.viaBastion && { jump: [bastion] }) } },
      };
    }
  }
  return state;
}

/** Applies `want` over `state`; returns the new state and the seconds the apply (check, plan, apply) took. */
async function converge(want: ContainersState, state: ContainersState): Promise<[ContainersState, number]> {
  const started = performance.now();
  const resource = new ContainersResource({ previousState: state, desiredState: want });
  try {
    await resource.checkCurrentState();
    resource.plan();
    const result = await resource.apply();
    if (!applySucceeded(result)) throw new Error(`apply failed: ${result.results.find((r) => !r.ok)?.error?.message}`);
    return [result.state, (performance.now() - started) / 1000];
  } finally {
    await resource.close();
  }
}

const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(GATES).map((g) => [g, []]));
try {
  for (let run = 0; run < RUNS; run++) {
    for (const [gate, config] of Object.entries(GATES)) {
      // A fresh fleet of the same gate, then the measured recreate (the env var changes).
      let [state] = await converge(desired(config, `a${run}`), {});
      let took: number;
      [state, took] = await converge(desired(config, `b${run}`), state);
      seconds[gate]?.push(took);
      await converge({}, state);
    }
  }
} finally {
  await Promise.all(hosts.map((h) => removeByPrefix(h.dockerSocket, PREFIX)));
}

const lines = [
  `# Health gates: the time they add to a rollout`,
  "",
  `Recreate of ${K} containers on each of ${H} hosts (Docker over SSH, h3 through the bastion), ${RUNS} runs:`,
  "seconds for check, plan and apply, median (min-max).",
  `${machine()}`,
  "",
];
const base = stats(seconds["no gate"] ?? []).median;
for (const [gate, values] of Object.entries(seconds)) {
  const s = stats(values);
  const diff = s.median - base;
  const extra = gate === "no gate" ? "" : `, ${diff < 0 ? "-" : "+"}${Math.abs(diff).toFixed(2)} s over no gate`;
  lines.push(`- ${gate}: ${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})${extra}`);
}
console.log(lines.join("\n"));
writeFileSync(new URL("./results/gates.md", import.meta.url), `${lines.join("\n")}\n`);

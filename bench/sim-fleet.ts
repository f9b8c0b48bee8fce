/**
 * The simulated fleet's inputs (adapted from the shared scale-sim
 * reference's gen-berth): berth's config.yaml for N hosts x K containers, a
 * state.yaml recording every container as running, and the fleet the
 * simulator starts with (ids, names, env and berth's labels, the config hash
 * computed by berth's own `configHash`), so that a plan against it is a true
 * no-op; and the same config with one env var changed on every host, with
 * the fleet it asks for (what the floor is told to reach).
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configHash, fromYaml, stateToYaml } from "../mod.ts";
import { LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_NAME } from "../runtimes/runtime.ts";
import { simAddress, type SimFleet } from "./sim-net.ts";

/** The files {@link writeSimInputs} wrote. */
export interface SimInputs {
  config: string;
  /** The config with `BENCH_VALUE=v2` for container bench-1 of every host. */
  changed: string;
  state: string;
  /** What the simulator starts with (matching `config` and `state`). */
  fleet: string;
  /** What `changed` asks for, for the floor. */
  changedFleet: string;
}

export const SIM_IMAGE = "local/busybox:sim";
/** With files: the one config file of every host, declared by each of its containers (as in the bench workload). */
const SIM_FILE = "/srv/bench/app.conf";
const SIM_FILE_CONTENT = "# simulated\nlevel = 1\n";

function configYaml(n: number, k: number, net: string, port: number, changed: boolean, files: boolean): string {
  const lines = [`ssh: { user: root, password: sim, hostKeyPolicy: insecure, port: ${port} }`, "hosts:"];
  for (let i = 0; i < n; i++) lines.push(`  h${i}: { ssh: { address: ${simAddress(net, i)} } }`);
  lines.push("containers:");
  for (let i = 0; i < n; i++) {
    for (let j = 1; j <= k; j++) {
      const value = changed && j === 1 ? "v2" : "v1";
      lines.push(
        `  h${i}-bench-${j}:`,
        `    name: bench-${j}`,
        `    host: h${i}`,
        `    image: ${SIM_IMAGE}`,
        '    args: [sleep, "100000"]',
        "    networkMode: host",
        `    env: { BENCH_VALUE: ${value} }`,
        ...(files ? [`    configFiles: { ${SIM_FILE}: ${JSON.stringify(SIM_FILE_CONTENT)} }`] : []),
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The simulator's fleet matching `text` (berth's config), and the state recording it. */
function fleetOf(text: string, files: boolean): { fleet: SimFleet; state: Record<string, unknown> } {
  const desired = fromYaml(text, { log: () => {} }).desiredState();
  const fleet: SimFleet = { image: SIM_IMAGE, hosts: [] };
  const state: Record<string, unknown> = {};
  for (const [key, hcc] of Object.entries(desired)) {
    const [, hi, j] = /^h(\d+)-bench-(\d+)$/.exec(key) as RegExpExecArray;
    const id = Number(hi).toString(16).padStart(8, "0") + Number(j).toString(16).padStart(56, "0");
    const config = hcc.container.config;
    (fleet.hosts[Number(hi)] ??= []).push({
      id,
      name: config.name,
      env: Object.entries(config.env ?? {}).map(([name, value]) => `${name}=${value}`),
      labels: {
        [LABEL_MANAGED]: "true",
        [LABEL_NAME]: config.name,
        [LABEL_CONFIG_HASH]: configHash(config, hcc.container.runtime),
      },
    });
    state[key] = { ...hcc, container: { ...hcc.container, status: { id, status: "running" } } };
  }
  if (files) fleet.files = fleet.hosts.map(() => ({ [SIM_FILE]: SIM_FILE_CONTENT }));
  return { fleet, state };
}

/** Writes the inputs for `n` hosts x `k` containers into `dir`; `files`: with a config file per host. */
export function writeSimInputs(
  dir: string,
  n: number,
  k: number,
  net: string,
  port: number,
  files: boolean,
): SimInputs {
  mkdirSync(dir, { recursive: true });
  const out: SimInputs = {
    config: join(dir, "config.yaml"),
    changed: join(dir, "config-changed.yaml"),
    state: join(dir, "state.yaml"),
    fleet: join(dir, "fleet.json"),
    changedFleet: join(dir, "fleet-changed.json"),
  };
  const text = configYaml(n, k, net, port, false, files);
  const changed = configYaml(n, k, net, port, true, files);
  const { fleet, state } = fleetOf(text, files);
  writeFileSync(out.config, text);
  writeFileSync(out.changed, changed);
  writeFileSync(out.state, stateToYaml(state as Parameters<typeof stateToYaml>[0]), { mode: 0o600 });
  writeFileSync(out.fleet, JSON.stringify(fleet));
  writeFileSync(out.changedFleet, JSON.stringify(fleetOf(changed, files).fleet));
  return out;
}

/**
 * The measured scenarios and running them in order with one tool: shared by
 * the bench (bench.ts), the scale run and the traces (trace.ts).
 *
 * @module
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cleanFleet, type FleetHost, snapshot, verifyFleet } from "./engines.ts";
import type { Scenario } from "./inputs.ts";
import { measure, type Sample } from "./measure.ts";
import type { Tool } from "./tools.ts";
import type { Workload } from "./workload.ts";

/** The five scenarios in the order they run, each from the state the one before left. */
export const SCENARIOS: Array<{ id: Scenario; label: string }> = [
  { id: "converge", label: "(a) first converge" },
  { id: "noop", label: "(b) no-op" },
  { id: "env", label: "(c) one env var changed" },
  { id: "file", label: "(d) config file changed" },
  { id: "remove", label: "(e) remove everything" },
];

/** What the bench needs from the fleet's env.json. */
export interface FleetEnv {
  image: string;
  ssh: { privateKeyPath: string; knownHostsFile: string };
  hosts: FleetHost[];
}

/** The base workload on the first `h` hosts of the fleet. */
export function baseWorkload(fleet: FleetEnv, work: string, h: number, k: number): Workload {
  return {
    image: fleet.image,
    command: ["sleep", "100000"],
    perHost: k,
    privateKeyPath: fleet.ssh.privateKeyPath,
    knownHostsFile: fleet.ssh.knownHostsFile,
    hosts: fleet.hosts.slice(0, h).map((x) => ({
      name: x.name,
      address: x.address,
      configDir: join(work, "srv", x.name),
      configFile: join(work, "srv", x.name, "app.conf"),
      config: `# bench config of ${x.name}\nlevel = 1\n`,
    })),
    envOverrides: {},
  };
}

/** Workload after each scenario, and the one before it. */
function scenarioWorkloads(
  w0: Workload,
): Record<Scenario, { want: Workload; before: Workload; after: Workload | undefined }> {
  const first = w0.hosts[0]?.name as string;
  const wEnv: Workload = { ...w0, envOverrides: { [`bench-${first}-1`]: "v2" } };
  const wFile: Workload = {
    ...wEnv,
    hosts: wEnv.hosts.map((h, i) => (i === 0 ? { ...h, config: `${h.config}level = 2\n` } : h)),
  };
  const none: Workload = { ...w0, perHost: 0 };
  return {
    converge: { want: w0, before: none, after: w0 },
    noop: { want: w0, before: w0, after: w0 },
    env: { want: wEnv, before: w0, after: wEnv },
    file: { want: wFile, before: wEnv, after: wFile },
    remove: { want: wFile, before: wFile, after: undefined },
  };
}

/** Runs the scenarios in order with one tool, from a clean fleet; returns seconds per scenario. */
export async function runScenarios(
  tool: Tool,
  fleet: FleetHost[],
  w0: Workload,
  work: string,
  log: string,
  only?: Scenario[],
): Promise<Partial<Record<Scenario, Sample>>> {
  await cleanFleet(fleet);
  rmSync(join(work, "srv"), { recursive: true, force: true });
  const dir = join(work, "tools", tool.name.replace(/[^a-z0-9]+/gi, "-"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  tool.prepare(dir, w0);
  const ws = scenarioWorkloads(w0);
  const out: Partial<Record<Scenario, Sample>> = {};
  for (const { id } of SCENARIOS) {
    const { want, before, after } = ws[id];
    tool.reset?.(dir);
    const seen = await snapshot(fleet);
    const cmd = tool.command(dir, id, want, before);
    const sample = await measure(cmd, log);
    tool.reset?.(dir);
    await verifyFleet(fleet, after, { workload: before, seen }).catch((err: Error) => {
      throw new Error(`${tool.name}, ${id}: the hosts are not as expected: ${err.message} (log: ${log})`);
    });
    if (only === undefined || only.includes(id)) out[id] = sample;
    if (only !== undefined && !only.includes("remove") && id === only[only.length - 1]) break;
  }
  return out;
}

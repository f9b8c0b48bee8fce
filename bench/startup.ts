/**
 * Start-up: `berth --version` and a plan of one container on Node, Bun,
 * Deno and the compiled binary, 10 runs each (after one warm-up), median.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FleetHost } from "./engines.ts";
import { berthConfig } from "./inputs.ts";
import { measure, stats, verdict } from "./measure.ts";
import type { Workload } from "./workload.ts";

const RUNS = 10;

/** Options of {@link startupBench}. */
export interface StartupOptions {
  root: string;
  work: string;
  fleet: FleetHost[];
  base: (hosts: number, perHost: number) => Workload;
}

/** Measures start-up and returns a Markdown section. */
export async function startupBench(o: StartupOptions): Promise<string> {
  const dir = join(o.work, "startup");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.yaml"), berthConfig(o.base(1, 1)));
  const bin = (x: string) => join(o.root, "node_modules", ".bin", x);
  const variants: Array<[string, string[], number]> = [
    ["node (dist/cli.js)", ["node", join(o.root, "dist", "cli.js")], 0.3],
    ["bun (cli.ts)", [bin("bun"), join(o.root, "cli.ts")], 0.15],
    ["deno (cli.ts)", [bin("deno"), "run", "-A", join(o.root, "cli.ts")], NaN],
    ["binary (build/berth)", [join(o.root, "build", "berth")], 0.15],
  ];
  const log = join(o.work, "startup.log");
  const lines = [
    `## Start-up: median of ${RUNS} runs (min-max), seconds`,
    "",
    "| runtime | `berth --version` | `berth plan` of one container on one SSH host | target (--version) |",
    "| --- | ---: | ---: | --- |",
  ];
  const verdicts: string[] = [];
  for (const [name, argv, target] of variants) {
    const cells: string[] = [];
    const medians: number[] = [];
    for (const extra of [["--version"], ["plan"]]) {
      const cmd = { argv: [...argv, ...extra], cwd: dir, env: { NO_COLOR: "1" } };
      await measure(cmd, log, [0, 2]);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await measure(cmd, log, [0, 2])).seconds);
      const st = stats(times);
      medians.push(st.median);
      cells.push(`${st.median.toFixed(3)} (${st.min.toFixed(3)}-${st.max.toFixed(3)})`);
    }
    const met = verdict((medians[0] as number) < target);
    lines.push(
      `| ${name} | ${cells.join(" | ")} | ${Number.isNaN(target) ? "none" : `< ${target * 1000} ms: ${met}`} |`,
    );
    if (!Number.isNaN(target)) {
      verdicts.push(
        `- ${name} \`--version\`: ${((medians[0] as number) * 1000).toFixed(0)} ms (< ${target * 1000} ms): ${met}`,
      );
    }
  }
  return `${[...lines, "", "Targets (start-up, median of `--version`):", "", ...verdicts].join("\n")}\n`;
}

/**
 * `run.sh --scale`: H=10 x K=20 first converge and no-op; a plan over 1,000
 * recorded containers (10 x 100) with berth's peak RSS; and how time grows
 * from 1 to 10 hosts with K fixed, beside the floors' growth in the same run.
 *
 * @module
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanFleet, type FleetHost, verifyFleet } from "./engines.ts";
import { berthConfig, type Scenario } from "./inputs.ts";
import { measure, type Sample, stats, verdict } from "./measure.ts";
import type { runScenarios } from "./scenarios.ts";
import { berthTool, floorOpensshTool, floorTool, type Tool } from "./tools.ts";
import type { Workload } from "./workload.ts";

/** Options of {@link scaleBench}. */
export interface ScaleOptions {
  fleet: FleetHost[];
  base: (hosts: number, perHost: number) => Workload;
  work: string;
  runs: number;
  /** How many recorded containers the plan is measured over (1,000 for the target). */
  recorded: number;
  floorJs: string;
  floorOpensshJs: string;
  root: string;
  runScenarios: typeof runScenarios;
}

const f2 = (n: number): string => n.toFixed(2);
const cell = (xs: number[]): string => {
  const s = stats(xs);
  return `${f2(s.median)} (${f2(s.min)}-${f2(s.max)})`;
};

/** Runs the scale measurements and returns them as Markdown. */
export async function scaleBench(o: ScaleOptions): Promise<string> {
  const log = join(o.work, "scale.log");
  const berth = berthTool("berth (node)", ["node", join(o.root, "dist", "cli.js")]);
  const floors = [floorTool(o.floorJs), floorOpensshTool(o.floorOpensshJs)];
  const hmax = o.fleet.length;
  const out: string[] = [];

  // 1. H x 20: first converge and no-op.
  {
    const w = o.base(hmax, 20);
    const rows: string[] = [];
    for (const tool of [berth, ...floors]) {
      const got: Record<string, number[]> = { converge: [], noop: [] };
      for (let r = 0; r < o.runs; r++) {
        const s = await o.runScenarios(tool, o.fleet, w, o.work, log, ["converge", "noop"]);
        got["converge"]?.push(s.converge?.seconds ?? NaN);
        got["noop"]?.push(s.noop?.seconds ?? NaN);
        process.stdout.write(
          `${hmax}x20 ${tool.name}: converge ${f2(s.converge?.seconds ?? NaN)} no-op ${f2(s.noop?.seconds ?? NaN)}\n`,
        );
      }
      rows.push(`| ${tool.name} | ${cell(got["converge"] ?? [])} | ${cell(got["noop"] ?? [])} |`);
    }
    out.push(
      `## ${hmax} hosts x 20 containers, ${o.runs} runs: seconds, median (min-max)`,
      "",
      "| tool | (a) first converge | (b) no-op |",
      "| --- | ---: | ---: |",
      ...rows,
      "",
    );
  }

  // 2. A plan over 1,000 recorded containers, and its peak RSS.
  {
    await cleanFleet(o.fleet);
    const perHost = Math.ceil(o.recorded / hmax);
    const w = o.base(hmax, perHost);
    const dir = join(o.work, "tools", "scale-1000");
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(o.work, "srv"), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.yaml"), berthConfig(w));
    const node = ["node", join(o.root, "dist", "cli.js")];
    const converge = await measure({ argv: [...node, "apply", "--yes"], cwd: dir, env: { NO_COLOR: "1" } }, log);
    await verifyFleet(o.fleet, w);
    process.stdout.write(
      `${hmax * perHost} containers: first converge ${f2(converge.seconds)} s, peak RSS ${
        converge.rssMb.toFixed(0)
      } MB\n`,
    );
    const plans: Sample[] = [];
    for (let r = 0; r < o.runs; r++) {
      plans.push(await measure({ argv: [...node, "plan"], cwd: dir, env: { NO_COLOR: "1" } }, log));
    }
    const destroy = await measure({ argv: [...node, "destroy", "--yes"], cwd: dir, env: { NO_COLOR: "1" } }, log);
    await verifyFleet(o.fleet, undefined);
    const rss = plans.map((p) => p.rssMb);
    out.push(
      `## ${hmax * perHost} recorded containers (${hmax} x ${perHost}), berth on Node`,
      "",
      "| what | seconds | peak RSS (MB) |",
      "| --- | ---: | ---: |",
      `| first converge (apply) | ${f2(converge.seconds)} | ${converge.rssMb.toFixed(0)} |`,
      `| no-op plan, ${o.runs} runs | ${cell(plans.map((p) => p.seconds))} | ${stats(rss).median.toFixed(0)} (max ${
        stats(rss).max.toFixed(0)
      }) |`,
      `| destroy | ${f2(destroy.seconds)} | ${destroy.rssMb.toFixed(0)} |`,
      "",
      `Target: peak RSS of the no-op plan of ${
        hmax * perHost
      } recorded containers < 100 MB (highest of ${o.runs} runs: ${stats(rss).max.toFixed(0)} MB): ${
        verdict(stats(rss).max < 100)
      }.`,
      "",
    );
  }

  // 3. From 1 to H hosts, K = 10: berth's growth beside the floors' in the same run.
  {
    const counts = [1, 2, 5, 10].filter((h) => h <= hmax);
    const tools = [berth, ...floors];
    const median: Record<string, number> = {};
    const at = (tool: Tool, h: number, s: Scenario) => median[`${tool.name} ${h} ${s}`] ?? NaN;
    const rows: string[] = [];
    for (const h of counts) {
      const cells: string[] = [];
      for (const tool of tools) {
        const got: Record<string, number[]> = { converge: [], noop: [] };
        for (let r = 0; r < o.runs; r++) {
          const s = await o.runScenarios(tool, o.fleet.slice(0, h), o.base(h, 10), o.work, log, ["converge", "noop"]);
          got["converge"]?.push(s.converge?.seconds ?? NaN);
          got["noop"]?.push(s.noop?.seconds ?? NaN);
        }
        for (const s of ["converge", "noop"] as Scenario[]) {
          median[`${tool.name} ${h} ${s}`] = stats(got[s] ?? []).median;
          cells.push(`${f2(at(tool, h, s))} (${f2(at(tool, h, s) / at(tool, 1, s))}x)`);
        }
        process.stdout.write(`H=${h} ${tool.name}: ${cells.slice(-2).join(" ")}\n`);
      }
      rows.push(`| ${h} | ${cells.join(" | ")} |`);
    }
    await cleanFleet(o.fleet);
    const last = counts[counts.length - 1] as number;
    const growth = (tool: Tool, s: Scenario) => at(tool, last, s) / at(tool, 1, s);
    const reference = floors[1] as Tool;
    out.push(
      `## Hosts 1 -> ${last}, 10 containers each: median seconds (growth over H=1), ${o.runs} runs`,
      "",
      `| hosts | ${tools.map((t) => `${t.name} converge | ${t.name} no-op`).join(" | ")} |`,
      `| ---: | ${tools.map(() => "---: | ---:").join(" | ")} |`,
      ...rows,
      "",
      `Targets (issue 16): growth from H=1 to H=${last} not more than ${reference.name}'s in the same run:`,
      "",
      ...(["converge", "noop"] as Scenario[]).map((s) =>
        `- ${berth.name}, ${s === "noop" ? "(b) no-op" : "(a) first converge"}: ${
          f2(growth(berth, s))
        }x, ${reference.name} ${f2(growth(reference, s))}x: ${verdict(growth(berth, s) <= growth(reference, s))}`
      ),
      "",
    );
  }
  return out.join("\n");
}

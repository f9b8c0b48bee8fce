/**
 * One traced run of every scenario, berth beside floor-openssh: where the
 * time goes, not how much of it there is (totals on a shared machine are
 * noise; the order and overlap of requests are not). Each command runs with
 * bench/trace-hooks.mjs preloaded; the result has, per scenario and tool,
 * the milestones of the run and each host's requests with their times.
 *
 * Usage (a fleet up, every host directly reachable, dist/ built):
 *   node --import tsx bench/trace.ts --env ENV.json --work DIR [--hosts 3] [--per-host 10]
 *        [--tools "berth (node),floor-openssh"] [--gate none] [--out FILE.md]
 * `--gate none` also runs berth with `gate: none` on every container, as its own labelled tool.
 *
 * @module
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { machine } from "./measure.ts";
import { baseWorkload, type FleetEnv, runScenarios, SCENARIOS } from "./scenarios.ts";
import { berthTool, floorOpensshTool, type Tool } from "./tools.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const HOOKS = join(ROOT, "bench", "trace-hooks.mjs");

const { values: args } = parseArgs({
  options: {
    env: { type: "string" },
    work: { type: "string" },
    hosts: { type: "string", default: "3" },
    "per-host": { type: "string", default: "10" },
    tools: { type: "string", default: "berth (node),floor-openssh" },
    gate: { type: "string" },
    out: { type: "string" },
  },
});

interface Event {
  ms: number;
  host: string;
  what: string;
}

/** A tool whose every command runs with the hooks preloaded, writing to `traces/<scenario>.trace`. */
function traced(tool: Tool, dir: (scenario: string) => string): Tool {
  return {
    ...tool,
    command(d, scenario, w, previous) {
      const cmd = tool.command(d, scenario, w, previous);
      const file = dir(scenario);
      rmSync(file, { force: true });
      const [exe = "", ...rest] = cmd.argv;
      const preload = exe.endsWith("bun") ? ["--preload", HOOKS] : ["--import", HOOKS];
      return { ...cmd, argv: [exe, ...preload, ...rest], env: { ...cmd.env, BERTH_BENCH_TRACE: file } };
    },
  };
}

function parse(file: string): Event[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.trim().split("\n").map((line) => {
    const [ms = "0", host = "", ...what] = line.split("\t");
    return { ms: Number(ms), host, what: what.join("\t") };
  });
}

const f0 = (n: number | undefined): string => n === undefined ? "-" : n.toFixed(0);

/** The milestones of one run, in milliseconds since its process started. */
function milestones(ev: Event[]): string {
  const first = (p: (e: Event) => boolean) => ev.find(p)?.ms;
  const last = (p: (e: Event) => boolean) => ev.findLast(p)?.ms;
  const reqs = ev.filter((e) => e.what.startsWith("> "));
  const kinds = new Map<string, number>();
  for (const r of reqs) {
    const k = r.what.slice(2).replace(/\?.*/, "").replace(/\/containers\/[^/]+/, "/containers/X").replace(
      /\/images\/.+\/json/,
      "/images/X/json",
    );
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [
    `preload ${f0(first((e) => e.what === "preload"))}`,
    `first connect ${f0(first((e) => /ssh connect|spawn ssh/.test(e.what)))}`,
    `first request ${f0(reqs[0]?.ms)}`,
    `last response ${f0(last((e) => e.what.startsWith("< ")))}`,
    `beforeExit ${f0(first((e) => e.what === "beforeExit"))}`,
    `exit ${f0(last((e) => e.what.startsWith("exit")))}`,
    `${reqs.length} requests (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")})`,
    `${ev.filter((e) => e.what.startsWith("sftp> ")).length} SFTP ops`,
    `${ev.filter((e) => /^fs rename(Sync)? \.state\./.test(e.what) && !e.what.endsWith("done")).length} state writes`,
  ].join("; ");
}

/** The host with the most requests (the first of them on a tie): where a change happened, when only some hosts change. */
function busiestHost(ev: Event[]): string | undefined {
  const counts = new Map<string, number>();
  for (const e of ev) if (e.what.startsWith("> ")) counts.set(e.host, (counts.get(e.host) ?? 0) + 1);
  let best: string | undefined;
  for (const [host, n] of counts) if (best === undefined || n > (counts.get(best) ?? 0)) best = host;
  return best;
}

/** One host's events (and the process-wide ones), as text. */
function hostLines(ev: Event[], host: string): string {
  // Answers of SFTP and module reads would double the length and say little: requests and their times stay.
  const shown = ev.filter((e) =>
    (e.host === host || e.host === "-") && !e.what.startsWith("sftp< ") && !/^fs readFile object/.test(e.what)
  );
  return shown.map((e) => `${e.ms.toFixed(1).padStart(8)}  ${e.what}`).join("\n");
}

async function main(): Promise<void> {
  if (args.env === undefined || args.work === undefined) throw new Error("usage: trace.ts --env ENV.json --work DIR");
  const fleet = JSON.parse(readFileSync(args.env, "utf8")) as FleetEnv;
  const h = Number(args.hosts);
  const w0 = baseWorkload(fleet, args.work, h, Number(args["per-host"]));
  const node = ["node", join(ROOT, "dist", "cli.js")];
  const all: Tool[] = [
    berthTool("berth (node)", node),
    berthTool("berth (bun)", [join(ROOT, "node_modules", ".bin", "bun"), join(ROOT, "cli.ts")]),
    floorOpensshTool(join(ROOT, "bench", ".build", "floor-openssh.mjs")),
  ];
  const wanted = (args.tools ?? "").split(",");
  const tools = all.filter((t) => wanted.includes(t.name));
  if (args.gate === "none") tools.push(berthTool("berth (node, gate: none)", node, true));
  const log = join(args.work, "trace.log");
  const out: string[] = [`# Traces: ${h} hosts x ${args["per-host"]} containers, one run each\n`];
  const detail: string[] = [];
  const traceFiles = new Map<string, (s: string) => string>();
  for (const tool of tools) {
    const dir = join(args.work, "traces", tool.name.replace(/[^a-z0-9]+/gi, "-"));
    mkdirSync(dir, { recursive: true });
    const file = (s: string) => join(dir, `${s}.trace`);
    traceFiles.set(tool.name, file);
    const got = await runScenarios(traced(tool, file), fleet.hosts.slice(0, h), w0, args.work, log);
    process.stdout.write(
      `${tool.name}: ${SCENARIOS.map(({ id }) => `${id} ${got[id]?.seconds.toFixed(2)}`).join("  ")}\n`,
    );
    for (const { id, label } of SCENARIOS) {
      const ev = parse(file(id));
      out.push(`- ${label}, ${tool.name}: wall ${got[id]?.seconds.toFixed(3)} s; ${milestones(ev)}`);
      const host = busiestHost(ev);
      if (host !== undefined && !tool.name.includes("gate: none")) {
        detail.push(
          `### ${label}, ${tool.name}, host ${host} (ms since start)\n\n\`\`\`\n${hostLines(ev, host)}\n\`\`\`\n`,
        );
      }
    }
  }
  const md = `${out[0]}\nMachine: ${machine()}\n\n${out.slice(1).join("\n")}\n\n${detail.join("\n")}`;
  if (args.out !== undefined) writeFileSync(args.out, md);
  process.stdout.write(`${out.join("\n")}\n`);
}

await main();

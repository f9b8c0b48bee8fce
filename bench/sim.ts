/**
 * `run.sh --sim`: berth against 10, 100 and 1,000 simulated SSH hosts x 10
 * containers (bench/sim-hosts.ts), beside the floor (bench/sim-floor.ts) with
 * 256 and with 16 hosts at once, all in one run: time and peak RSS of a
 * no-op plan (process start, reading config and state included) and of an
 * apply that changes one env var on every host. After each command the
 * simulator's own memory is checked: a plan changed nothing, an apply left
 * exactly the wanted containers running.
 *
 * Usage: node --import tsx bench/sim.ts --work DIR [--sizes 10,100,1000] [--per-host 10] [--files]
 *          [--timeout-seconds 900] [--net 127.77] [--port 2222] [--out bench/results]
 *   A berth command running past the timeout is stopped and reported as such (a MISSED target).
 *   --files: every host has a config file that each of its containers declares (read over SFTP:
 *   needs berth's file access through the transport, issue 16).
 *   --profile: at the largest size, a second no-op plan under `node --cpu-prof`, summarised in sim.md.
 *
 * @module
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { parseArgs } from "node:util";
import { profileSummary } from "./cpu-profile.ts";
import { machine, measure, type Sample, verdict } from "./measure.ts";
import { writeSimInputs } from "./sim-fleet.ts";
import type { SimFleet } from "./sim-net.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

const { values: args } = parseArgs({
  options: {
    work: { type: "string" },
    sizes: { type: "string", default: "10,100,1000" },
    "per-host": { type: "string", default: "10" },
    "timeout-seconds": { type: "string", default: "900" },
    files: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    net: { type: "string", default: "127.77" },
    port: { type: "string", default: "2222" },
    out: { type: "string", default: join(ROOT, "bench", "results") },
  },
});

interface Dumped {
  changes: number;
  requests: number;
  sftpSessions: number;
  files: Record<string, string>;
  containers: Array<{ name: string; env: string[]; state: string }>;
}

/** The simulator process: started with a fleet, asked for its memory, stopped. */
class Simulator {
  private constructor(readonly child: ChildProcessWithoutNullStreams, readonly lines: Interface) {}

  static async start(fleet: string, key: string): Promise<Simulator> {
    const child = spawn(process.execPath, [
      join(ROOT, "bench", ".build", "sim-hosts.mjs"),
      ...["--fleet", fleet, "--key", key, "--net", args.net as string, "--port", args.port as string],
    ], { stdio: ["pipe", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((ok, fail) => {
      lines.once("line", (l) => (l === "ready" ? ok() : fail(new Error(`simulator: ${l}`))));
      child.once("exit", (code) => fail(new Error(`the simulator exited ${code}: ${err}`)));
    });
    return new Simulator(child, lines);
  }

  /** Per host what it holds and was asked; and the most SSH connections open at once since it started. */
  dump(): Promise<{ hosts: Dumped[]; mostOpen: number }> {
    return new Promise((ok) => {
      this.lines.once("line", (l) => ok(JSON.parse(l) as { hosts: Dumped[]; mostOpen: number }));
      this.child.stdin.write("dump\n");
    });
  }

  stop(): Promise<void> {
    return new Promise((ok) => {
      this.child.once("exit", () => ok());
      this.child.stdin.end();
    });
  }
}

/**
 * Throws unless every host holds exactly bench-1..k, running, bench-1 with
 * `first` as BENCH_VALUE and the rest v1, and the files of `fleet`.
 */
function checkApplied(hosts: Dumped[], fleet: SimFleet, k: number, first: string, who: string): void {
  hosts.forEach((h, i) => {
    for (const [path, text] of Object.entries(fleet.files?.[i] ?? {})) {
      if (h.files[path] !== text) throw new Error(`${who}: simulated host h${i} holds ${path} as ${h.files[path]}`);
    }
    const got = h.containers.map((c) => `${c.name} ${c.state} ${c.env.join(",")}`).sort();
    const want = Array.from({ length: k }, (_, j) => `bench-${j + 1} running BENCH_VALUE=${j === 0 ? first : "v1"}`)
      .sort();
    if (got.join("\n") !== want.join("\n")) {
      throw new Error(`${who}: simulated host h${i} holds [${got.join("; ")}], expected [${want.join("; ")}]`);
    }
  });
}

const cell = (s: Sample) =>
  s.stopped ? `> ${s.seconds.toFixed(0)} s (stopped)` : `${s.seconds.toFixed(2)} s, ${s.rssMb.toFixed(0)} MB`;

async function main(): Promise<void> {
  if (args.work === undefined) throw new Error("usage: sim.ts --work DIR [--sizes 10,100,1000]");
  const work = args.work;
  const k = Number(args["per-host"]);
  const sizes = (args.sizes as string).split(",").map(Number);
  mkdirSync(work, { recursive: true });
  const key = join(work, "hostkey");
  if (!existsSync(key)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const log = join(work, "sim.log");
  const berth = [process.execPath, join(ROOT, "dist", "cli.js")];
  const timeoutSeconds = Number(args["timeout-seconds"]);
  const floor = (fleet: string, par: number) => ({
    argv: [process.execPath, join(ROOT, "bench", ".build", "sim-floor.mjs"), fleet, "--par", String(par)].concat(
      ["--net", args.net as string, "--port", args.port as string],
    ),
    cwd: work,
  });
  const rows: string[] = [];
  const verdicts: string[] = [];
  const profile: string[] = [];
  for (const n of sizes) {
    const dir = join(work, `h${n}`);
    rmSync(dir, { recursive: true, force: true });
    const inputs = writeSimInputs(dir, n, k, args.net as string, Number(args.port), args.files === true);
    const applyDir = join(dir, "apply");
    mkdirSync(applyDir);
    copyFileSync(inputs.changed, join(applyDir, "config.yaml"));
    copyFileSync(inputs.state, join(applyDir, "state.yaml"));

    let sim = await Simulator.start(inputs.fleet, key);
    const logStart = existsSync(log) ? statSync(log).size : 0;
    const plan = await measure({ argv: [...berth, "plan"], cwd: dir, env: { NO_COLOR: "1" }, timeoutSeconds }, log);
    // A host-key policy that applies to every host should be said once, not once per host.
    // The log's size is in bytes: cut the bytes, not the characters (berth's output holds non-ASCII ones).
    const warnings = readFileSync(log).subarray(logStart).toString("utf8").split("\n").filter((l) =>
      /warning/i.test(l)
    ).length;
    const { hosts: afterPlan, mostOpen } = await sim.dump();
    if (afterPlan.some((h) => h.changes > 0)) throw new Error(`berth plan at ${n} hosts changed a host`);
    // The most any host was asked during the plan (the simulator started fresh for it).
    const requests = Math.max(...afterPlan.map((h) => h.requests));
    const sessions = Math.max(...afterPlan.map((h) => h.sftpSessions));
    const floorNoop256 = await measure(floor(inputs.fleet, 256), log);
    const floorNoop16 = await measure(floor(inputs.fleet, 16), log);
    if ((await sim.dump()).hosts.some((h) => h.changes > 0)) {
      throw new Error(`the floor's no-op at ${n} hosts changed a host`);
    }
    if (args.profile && n === Math.max(...sizes)) {
      const dir = join(work, "profile");
      rmSync(dir, { recursive: true, force: true });
      const argv = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${dir}`, ...berth.slice(1), "plan"];
      await measure({ argv, cwd: join(work, `h${n}`), env: { NO_COLOR: "1" }, timeoutSeconds }, log);
      // The main thread's profile is the largest (the module loader's worker writes one too).
      const [file] = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size);
      if (file !== undefined) {
        profile.push(
          "",
          `## Where a no-op plan's time goes at ${n} hosts`,
          "",
          "A second `berth plan` of the same fleet, under `node --cpu-prof` (not the measured run), summarised by bench/cpu-profile.ts.",
          "",
          profileSummary(file),
        );
      }
    }
    const apply = await measure(
      { argv: [...berth, "apply", "--yes"], cwd: applyDir, env: { NO_COLOR: "1" }, timeoutSeconds },
      log,
    );
    const fleet = JSON.parse(readFileSync(inputs.changedFleet, "utf8")) as SimFleet;
    if (!apply.stopped) checkApplied((await sim.dump()).hosts, fleet, k, "v2", `berth apply at ${n} hosts`);
    const floorApply: Sample[] = [];
    for (const par of [256, 16]) {
      await sim.stop();
      sim = await Simulator.start(inputs.fleet, key);
      floorApply.push(await measure(floor(inputs.changedFleet, par), log));
      checkApplied((await sim.dump()).hosts, fleet, k, "v2", `the floor's apply (${par} at once) at ${n} hosts`);
    }
    await sim.stop();
    const [floorApply256, floorApply16] = floorApply as [Sample, Sample];
    rows.push(
      `| ${n} | ${cell(plan)} | ${cell(floorNoop256)} | ${cell(floorNoop16)} | ${cell(apply)} | ${
        cell(floorApply256)
      } | ${cell(floorApply16)} | ${requests} + ${sessions} | ${mostOpen} | ${warnings} |`,
    );
    process.stdout.write(`${rows[rows.length - 1]}\n`);
    if (n === Math.max(...sizes)) {
      const at = n === 1000 ? `${n} hosts` : `${n} hosts (the targets are set at 1,000)`;
      const ratio = plan.seconds / floorNoop256.seconds;
      const over = plan.stopped ? "more than " : "";
      verdicts.push(
        `- no-op plan at ${at}: ${over}${ratio.toFixed(2)}x the floor with 256 hosts at once (<= 3x): ${
          verdict(!plan.stopped && ratio <= 3)
        }`,
        `- no-op plan at ${at}: peak RSS ${plan.rssMb.toFixed(0)} MB (< 150 MB): ${verdict(plan.rssMb < 150)}`,
        `- no-op plan at ${at}: at most ${requests} engine requests and ${sessions} SFTP sessions on a host (<= 2 + 1): ${
          verdict(requests <= 2 && sessions <= 1)
        }`,
        `- host-key policy warning at ${at}: ${warnings} line(s) (one line, not one per host): ${
          verdict(warnings <= 1)
        }`,
      );
    }
  }
  const md = [
    `## Simulated SSH hosts x ${k} containers${
      args.files ? " and a config file per host" : ", no files"
    }, one run each: seconds, peak RSS`,
    "",
    "berth is `node dist/cli.js` (process start, reading config and state included); the apply changes one env var on every host (one container recreated per host).",
    "",
    "| hosts | berth no-op plan | floor no-op, 256 at once | floor no-op, 16 at once | berth apply | floor apply, 256 at once | floor apply, 16 at once | berth plan: engine requests + SFTP sessions per host (most) | berth plan: SSH connections open at once (most) | warning lines (berth plan) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "Targets (issue 16):",
    "",
    ...verdicts,
    ...profile,
    "",
  ].join("\n");
  mkdirSync(args.out as string, { recursive: true });
  const file = join(args.out as string, "sim.md");
  writeFileSync(file, `# berth against simulated hosts\n\nMachine: ${machine()}\n\n${md}`);
  process.stdout.write(`\n${md}\nwritten to ${file}\n`);
}

await main();

/**
 * Reading a large config: `berth validate` (process start included) of 20k,
 * 40k, 80k and 100k containers on 100 hosts, time and peak RSS, and Ctrl-C
 * during the read of the largest (SIGINT half-way through: how long until
 * the process is gone, and its exit status as a shell reports it). Targets
 * (issue 16): 100k containers in under 5 s, growth about linear, Ctrl-C
 * ends it at once with status 130. Writes bench/results/config-parse.md.
 *
 * Usage: node --import tsx bench/config-parse.ts [--sizes 20000,40000,80000,100000] [--runs 3] [--work DIR] [--profile]
 *   (builds nothing: run `node_modules/.bin/tsc -p .` first, as bench/run.sh does)
 *   --runs: validates of each size; the fastest counts (on a shared machine one run of 100k took 5.6 or 9.8 s).
 *   --profile: a second validate of the largest under `node --cpu-prof`, summarised in config-parse.md.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { profileSummary } from "./cpu-profile.ts";
import { machine, measure, verdict } from "./measure.ts";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "20000,40000,80000,100000" },
    runs: { type: "string", default: "3" },
    work: { type: "string", default: join(tmpdir(), "berth-config-parse") },
    out: { type: "string", default: join(ROOT, "bench", "results") },
    profile: { type: "boolean", default: false },
  },
});

/** A config of `n` containers spread over 100 SSH hosts, shaped like the simulated bench's. */
function configYaml(n: number): string {
  const lines = ["ssh: { user: root, password: sim, hostKeyPolicy: insecure, port: 2222 }", "hosts:"];
  for (let i = 0; i < 100; i++) lines.push(`  h${i}: { ssh: { address: 127.77.0.${i + 1} } }`);
  lines.push("containers:");
  for (let c = 0; c < n; c++) {
    lines.push(
      `  c${c}:`,
      `    name: bench-${c}`,
      `    host: h${c % 100}`,
      "    image: local/busybox:sim",
      '    args: [sleep, "100000"]',
      "    networkMode: host",
      "    env: { BENCH_VALUE: v1 }",
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * SIGINT `delayMs` into `berth validate`: seconds from the signal to the exit, and the status a shell shows;
 * `undefined` when the validate finished before the signal.
 */
function interrupted(cwd: string, delayMs: number): Promise<{ afterSignal: number; status: number } | undefined> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(ROOT, "dist", "cli.js"), "validate"], { cwd, stdio: "ignore" });
    let sentAt = 0;
    const timer = setTimeout(() => {
      sentAt = performance.now();
      child.kill("SIGINT");
    }, delayMs);
    child.once("error", fail);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (sentAt === 0) return ok(undefined);
      const status = signal === null ? (code ?? -1) : 128 + constants.signals[signal];
      ok({ afterSignal: (performance.now() - sentAt) / 1000, status });
    });
  });
}

/** The lines of a "where the time goes" section: a validate of `dir` under `node --cpu-prof`, summarised. */
async function profiled(dir: string, n: number, log: string): Promise<string[]> {
  const profiles = join(dir, "profile");
  rmSync(profiles, { recursive: true, force: true });
  const argv = [process.execPath, "--cpu-prof", `--cpu-prof-dir=${profiles}`, join(ROOT, "dist", "cli.js"), "validate"];
  await measure({ argv, cwd: dir }, log);
  // The main thread's profile is the largest (the module loader's worker writes one too).
  const [file] = readdirSync(profiles).map((f) => join(profiles, f)).sort((a, b) =>
    statSync(b).size - statSync(a).size
  );
  if (file === undefined) return [];
  return [
    "",
    `## Where the time of a validate of ${n.toLocaleString("en")} goes`,
    "",
    "A second `berth validate` of the same config, under `node --cpu-prof` (not the measured run), summarised by bench/cpu-profile.ts.",
    "",
    profileSummary(file),
  ];
}

async function main(): Promise<void> {
  const sizes = (args.sizes as string).split(",").map(Number);
  const runs = Number(args.runs);
  const work = args.work as string;
  const log = join(work, "config-parse.log");
  mkdirSync(work, { recursive: true });
  const rows: string[] = [];
  const times = new Map<number, number>();
  let largestDir = "";
  for (const n of sizes) {
    const dir = join(work, `c${n}`);
    mkdirSync(dir, { recursive: true });
    const text = configYaml(n);
    writeFileSync(join(dir, "config.yaml"), text);
    let sample = await measure({ argv: [process.execPath, join(ROOT, "dist", "cli.js"), "validate"], cwd: dir }, log);
    for (let run = 1; run < runs; run++) {
      const next = await measure({ argv: [process.execPath, join(ROOT, "dist", "cli.js"), "validate"], cwd: dir }, log);
      if (next.seconds < sample.seconds) sample = next;
    }
    times.set(n, sample.seconds);
    rows.push(
      `| ${n.toLocaleString("en")} | ${(text.length / 1e6).toFixed(1)} MB | ${sample.seconds.toFixed(2)} s | ${
        sample.rssMb.toFixed(0)
      } MB |`,
    );
    process.stdout.write(`${rows[rows.length - 1]}\n`);
    largestDir = dir;
  }
  const largest = Math.max(...sizes);
  const smallest = Math.min(...sizes);
  // Half-way through the read of the largest (its measured time), so the signal lands during the parse; earlier
  // when that run was faster than the measured one (on a loaded machine the two can differ by 2x).
  let signalAfterMs = ((times.get(largest) as number) * 1000) / 2;
  let signal = await interrupted(largestDir, signalAfterMs);
  for (let tries = 1; signal === undefined && tries < 4; tries++) {
    signalAfterMs /= 2;
    signal = await interrupted(largestDir, signalAfterMs);
  }
  if (signal === undefined) throw new Error("validate finished before the signal, 4 times");
  const growth = (times.get(largest) as number) / (times.get(smallest) as number);
  const profile = args.profile ? await profiled(largestDir, largest, log) : [];
  const md = [
    "# Reading a large config",
    "",
    `Machine: ${machine()}`,
    "",
    `## \`berth validate\` of N containers on 100 hosts, the fastest of ${runs} run${
      runs === 1 ? "" : "s"
    } each (process start included; peak RSS of that run)`,
    "",
    "| containers | config | seconds | peak RSS |",
    "| ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `Ctrl-C (SIGINT) ${(signalAfterMs / 1000).toFixed(2)} s into the validate of ${
      largest.toLocaleString("en")
    }: gone ${signal.afterSignal.toFixed(2)} s after the signal, exit status ${signal.status}.`,
    "",
    "Targets (issue 16):",
    "",
    `- validate of ${largest.toLocaleString("en")} containers: ${
      (times.get(largest) as number).toFixed(2)
    } s (< 5 s): ${verdict(largest >= 100_000 && (times.get(largest) as number) < 5)}`,
    `- growth from ${smallest.toLocaleString("en")} to ${largest.toLocaleString("en")} containers: ${
      growth.toFixed(2)
    }x for ${(largest / smallest).toFixed(1)}x the containers (linear: <= ${(1.5 * largest / smallest).toFixed(1)}x): ${
      verdict(growth <= 1.5 * largest / smallest)
    }`,
    `- Ctrl-C during the read: exit status ${signal.status} after ${signal.afterSignal.toFixed(2)} s (130, < 0.5 s): ${
      verdict(signal.status === 130 && signal.afterSignal < 0.5)
    }`,
    ...profile,
    "",
  ].join("\n");
  mkdirSync(args.out as string, { recursive: true });
  const file = join(args.out as string, "config-parse.md");
  writeFileSync(file, md);
  process.stdout.write(`\n${md}\nwritten to ${file}\n`);
}

await main();

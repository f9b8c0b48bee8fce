/**
 * Shared pieces of the reliability suite: berth as a child process (so it
 * can be killed), configs over the local engine and the SSH fleet, and an
 * independent count of berth's containers on every engine (Docker through
 * raw HTTP, containerd through `ctr`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { detectRuntime } from "../support/js-runtime.ts";
import { berthContainers, containerdView, dockerView, type EngineView } from "../support/engine-view.ts";
import { dockerLocal, type TestEnv, type TestHost } from "../support/env.ts";
import { expect, test } from "../support/harness.ts";
import { tally } from "./tally.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A berth CLI running as a child process. */
export interface CliChild {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when stdout matches (rejects when the process ends first or after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `berth ARGS` on the runtime running the tests (bun, or node with tsx). */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliChild {
  const runtimeArgs = detectRuntime() === "bun" ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...runtimeArgs, "cli.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout?.on("data", (b: Buffer) => {
    stdout += b.toString("utf8");
    for (const l of listeners) l();
  });
  child.stderr?.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (code, signal) => {
      resolve({ code, signal });
      for (const l of listeners) l();
    });
  });
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`no ${pattern} in berth's output within ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
          timeoutMs,
        );
        const check = () => {
          if (pattern.test(stdout)) done();
          else if (ended) done(new Error(`berth ended without ${pattern}:\n${stdout}\n${stderr}`));
        };
        const done = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err === undefined) resolve();
          else reject(err);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** A container berth manages, as the engine lists it. */
export interface ManagedContainer {
  id: string;
  name: string;
  state: string;
  labels: Record<string, string>;
}

/**
 * berth's containers (label berth.managed=true, helpers included) on a Docker
 * engine whose name or berth name starts with `prefix`.
 */
export async function managedContainers(socket: string, prefix: string): Promise<ManagedContainer[]> {
  return (await berthContainers(dockerView(socket)))
    .filter((c) => c.name.startsWith(prefix) || (c.labels["berth.name"] ?? "").startsWith(prefix))
    .map((c) => ({ id: c.id, name: c.name, state: c.status, labels: c.labels }));
}

/** What differs between an engine and the containers it should hold. */
export interface Census {
  /** Desired but absent. */
  lost: string[];
  /** Present more than once (by berth name). */
  duplicated: string[];
  /** Present but not desired (helpers included: they must be gone after a run). */
  orphans: string[];
}

/** Compares berth's containers, by berth name, with `expected`; adds what it found to the suite's tally. */
function compare(found: Array<{ name: string; labels: Record<string, string> }>, expected: string[]): Census {
  const byName = new Map<string, number>();
  for (const c of found) {
    const name = c.labels["berth.name"] ?? c.name;
    byName.set(name, (byName.get(name) ?? 0) + 1);
  }
  const result: Census = {
    lost: expected.filter((n) => !byName.has(n)),
    duplicated: [...byName.entries()].filter(([, n]) => n > 1).map(([name]) => name),
    orphans: [...byName.keys()].filter((n) => !expected.includes(n)),
  };
  tally("lost", result.lost.length);
  tally("duplicated", result.duplicated.length);
  tally("orphaned", result.orphans.length);
  return result;
}

/**
 * Counts berth's containers of this test (name or berth name starting with
 * `prefix`) on one Docker engine, through raw HTTP, and compares with
 * `expected`; lost, duplicated and orphaned ones are tallied apart.
 * {@link endWithCensus} looks at all of berth's containers on every engine.
 */
export async function census(socket: string, prefix: string, expected: string[]): Promise<Census> {
  return compare(await managedContainers(socket, prefix), expected);
}

/**
 * The engines of the environment, by name: `local`, `h1`... (Docker, raw
 * HTTP) and `cri-local`, `cri-h1` (containerd through `ctr`) for those
 * tests/env/containerd.sh brought up.
 */
export function fleetEngines(env: TestEnv): Map<string, EngineView> {
  const engines = new Map<string, EngineView>([["local", dockerView(env.local.socket)]]);
  for (const h of env.hosts) engines.set(h.name, dockerView(h.dockerSocket));
  const criFile = `${process.env["BERTH_CRI_DIR"] ?? "/tmp/berth-cri"}/env.json`;
  if (existsSync(criFile)) {
    const cri = JSON.parse(readFileSync(criFile, "utf8")) as {
      local: { socket: string };
      h1: { socket: string } | null;
    };
    for (const [name, at] of [["cri-local", cri.local], ["cri-h1", cri.h1]] as const) {
      if (at !== null && existsSync(at.socket)) engines.set(name, containerdView(at.socket));
    }
  }
  return engines;
}

/**
 * All of berth's containers (label berth.managed=true, any name, helpers
 * included) on every engine of {@link fleetEngines}, against `expected`
 * (engine name -> berth names; an engine not named should hold none).
 */
export async function fleetCensus(env: TestEnv, expected: Record<string, string[]>): Promise<Record<string, Census>> {
  const result: Record<string, Census> = {};
  for (const [name, view] of fleetEngines(env)) {
    result[name] = compare(await berthContainers(view), expected[name] ?? []);
  }
  return result;
}

/**
 * Registers a reliability file's last test: the census of {@link fleetCensus}
 * against what the file's last config wants (`expected()`, read when the test
 * runs, before the file's cleanup), with lost, duplicated and orphaned
 * containers reported apart. Call it after the file's `describe`.
 */
export function endWithCensus(env: TestEnv, expected: () => Record<string, string[]>): void {
  test(
    "census at the end: berth's containers on every engine (Docker and containerd) are exactly the desired ones",
    async () => {
      const want = expected();
      const found = await fleetCensus(env, want);
      // Under CI the whole environment is there: a census without containerd would cover one runtime only.
      if (process.env["CI"] === "true" && found["cri-local"] === undefined) {
        throw new Error("census: no containerd of tests/env/containerd.sh is up, so CRI containers went uncounted");
      }
      const clean = Object.fromEntries(Object.keys(found).map((e) => [e, { lost: [], duplicated: [], orphans: [] }]));
      console.log(
        `census: ${Object.keys(found).join(", ")}: ${
          Object.values(want).reduce((n, names) => n + names.length, 0)
        } desired; lost ${count(found, "lost")}, duplicated ${count(found, "duplicated")}, orphaned ${
          count(found, "orphans")
        }`,
      );
      expect(found).toEqual(clean);
    },
    120_000,
  );
}

const count = (found: Record<string, Census>, key: keyof Census) =>
  Object.values(found).reduce((n, c) => n + c[key].length, 0);

/** Removes every container on an engine whose name starts with `prefix`. */
export async function removeByPrefix(socket: string, prefix: string): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ name: [prefix] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket });
  if (!Array.isArray(body)) return;
  for (const c of body as Array<{ Id: string; Names: string[] }>) {
    if ((c.Names[0] ?? "").replace(/^\//, "").startsWith(prefix)) {
      await dockerLocal(`/containers/${c.Id}?force=1`, { method: "DELETE", socket });
    }
  }
}

/** `ssh:` defaults and `hosts:` for the local engine and the fleet, with quick SSH timeouts. */
export function fleetHosts(env: TestEnv, extraSsh = ""): string {
  const host = (h: TestHost) =>
    h.viaBastion
      ? `  ${h.name}: { ssh: { address: ${h.address}, port: ${h.port}, jump: [ { address: ${env.bastion.address}, port: ${env.bastion.port} } ] } }`
      : `  ${h.name}: { ssh: { address: ${h.address}, port: ${h.port} } }`;
  return `ssh:
  user: ${env.ssh.user}
  privateKeyPath: ${env.ssh.privateKeyPath}
  knownHostsFile: ${env.ssh.knownHostsFile}
  connectionTimeout: 3s
  retryTimeout: 2s
  retryInterval: 500ms
${extraSsh}hosts:
  local: { direct: {} }
${env.hosts.map(host).join("\n")}
`;
}

/** One container entry of a config: quick to stop (init), no network. */
export function containerYaml(env: TestEnv, key: string, name: string, host: string, extra = ""): string {
  const runtime = host === "local" ? `, runtime: { docker: { host: "unix://${env.local.socket}" } }` : "";
  return `  ${key}: { host: ${host}, name: ${name}, image: "${env.image}", init: true, networkMode: none, args: [sleep, "100000"]${runtime}${extra} }\n`;
}

/** The engine socket of a host name (`local` or `hN`), reachable from the test process. */
export function socketOf(env: TestEnv, host: string): string {
  return host === "local" ? env.local.socket : (env.hosts.find((h) => h.name === host) as TestHost).dockerSocket;
}

/** Sleeps. */
/** What one round of a kill test left: whether the kill landed (berth still ran), and the run, for messages. */
export interface KillRound {
  landed: boolean;
  where: string;
}

/**
 * One round of a kill test: `berth apply --yes` on `dir`'s config.yaml and
 * state.yaml, SIGKILLed `delayMs` after it started (or, with `afterPlan`,
 * after it printed its plan). A kill that landed counts as a fault; an apply
 * that was done before it came must have exited 0.
 */
export async function killApply(dir: string, round: number, delayMs: number, afterPlan: boolean): Promise<KillRound> {
  const child = spawnCli(["-c", join(dir, "config.yaml"), "-s", join(dir, "state.yaml"), "apply", "--yes"]);
  if (afterPlan) await child.waitFor(/Plan: /);
  await sleep(delayMs);
  child.child.kill("SIGKILL");
  const { code, signal } = await child.exited;
  const where = `round ${round}: exit ${code} signal ${signal}\n${child.stdout}\n${child.stderr}`;
  if (signal === "SIGKILL") {
    tally("faults");
    return { landed: true, where };
  }
  expect({ where, finished: code === 0 }).toEqual({ where, finished: true });
  return { landed: false, where };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

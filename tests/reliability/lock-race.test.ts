/**
 * The stale-lock race: a lock left by a process that no longer runs, and 4
 * berth processes that find it at the same moment. Exactly one of them
 * takes it over, every time (200 trials); the others are refused while it
 * holds it; its release removes its own lock and nothing else.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lockState } from "../../store/lock.ts";
import { detectRuntime } from "../support/js-runtime.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { endWithCensus } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const TRIALS = Number(process.env["BERTH_REL_LOCK_TRIALS"] ?? 200);
const CONTENDERS = 4;
const dir = mkdtempSync(join(tmpdir(), "berth-rel-lock-"));
const statePath = join(dir, "state.yaml");
const lockPath = `${statePath}.lock`;

interface Contender {
  child: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
}

function contender(): Contender {
  const runtimeArgs = detectRuntime() === "bun" ? [] : ["--import", "tsx"];
  const script = fileURLToPath(new URL("./lock-contender.ts", import.meta.url));
  const child = spawn(process.execPath, [...runtimeArgs, script, statePath], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffer = "";
  child.stdout?.on("data", (b: Buffer) => {
    buffer += b.toString("utf8");
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w === undefined) lines.push(line);
      else w(line);
    }
  });
  return {
    child,
    next: () => {
      const line = lines.shift();
      return line === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(line);
    },
    send: (line) => void child.stdin?.write(`${line}\n`),
  };
}

/** A pid that is certainly not running: a process that has exited. */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const contenders: Contender[] = [];

afterAll(() => {
  for (const c of contenders) c.child.kill();
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
});

describe("the stale-lock race", () => {
  test(`${CONTENDERS} processes find one stale lock: exactly one takes it over, ${TRIALS} times`, async () => {
    for (let i = 0; i < CONTENDERS; i++) contenders.push(contender());
    const outcomes: Record<string, number> = {};
    for (let trial = 0; trial < TRIALS; trial++) {
      writeFileSync(
        lockPath,
        JSON.stringify({ pid: deadPid(), hostname: hostname(), command: "berth apply", startedAt: `trial ${trial}` }),
      );
      tally("faults");
      for (const c of contenders) c.send("go");
      const answers = await Promise.all(contenders.map((c) => c.next()));
      const winners = answers.filter((a) => a === "won").length;
      outcomes[`${winners} won`] = (outcomes[`${winners} won`] ?? 0) + 1;
      expect({ trial, answers: answers.filter((a) => a !== "won" && a !== "refused"), winners }).toEqual({
        trial,
        answers: [],
        winners: 1,
      });
      const winner = contenders[answers.indexOf("won")] as Contender;
      expect(JSON.parse(readFileSync(lockPath, "utf8")).pid).toBe(winner.child.pid);
      winner.send("release");
      expect(await winner.next()).toBe("released");
      expect(existsSync(lockPath)).toBe(false);
      expect(readdirSync(dir)).toEqual([]); // no marker or temp file left behind
    }
    console.log(`stale-lock race: ${TRIALS} trials x ${CONTENDERS} contenders: ${JSON.stringify(outcomes)}`);
  }, 600_000);

  test("release() removes only its own lock: a lock taken over meanwhile stays", async () => {
    const lock = await lockState(statePath, { command: "test" });
    const other = JSON.stringify({ pid: process.pid, hostname: hostname(), command: "another run", startedAt: "now" });
    writeFileSync(lockPath, other);
    lock.release();
    expect(readFileSync(lockPath, "utf8")).toBe(other);
    rmSync(lockPath);
  });
});

// Only lock files here: no engine holds anything of berth's.
endWithCensus(loadTestEnv(), () => ({}));

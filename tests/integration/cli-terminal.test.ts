/**
 * The `berth` CLI as a separate process, the way a person runs it: colour on
 * a terminal (a real pseudo-terminal, through util-linux `script`) and not
 * with NO_COLOR or when piped; a second Ctrl-C leaves at once. Effects are
 * checked on the local engine through its own HTTP API.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { dockerLocal, loadTestEnv, removeLocalContainers } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { ROOT, tsCommand } from "../support/ts-script.ts";

const env = loadTestEnv();
const prefix = `bt-term-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "berth-term-"));
const run = promisify(execFile);
const [runtime, cliArgs] = tsCommand(join(ROOT, "cli.ts"));
const ESC = "\x1b[";

function config(level: string): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  docker: { host: "unix://${env.local.socket}" }`,
    "containers:",
    "  slow:",
    `    name: ${prefix}-slow`,
    "    host: local",
    `    image: ${env.image}`,
    // No init: busybox sleep as PID 1 ignores SIGTERM, so stopping it takes the full 10 s timeout.
    "    init: false",
    "    networkMode: none",
    `    args: [sleep, "100000"]`,
    `    env: { LEVEL: "${level}" }`,
    "",
  ].join("\n");
}

/** `berth ARGS` in `dir` under a pseudo-terminal: its exit code and what the terminal showed. */
async function onTerminal(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const command = [runtime, ...cliArgs, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return await runIn(["script", "-qefc", command, "/dev/null"], extraEnv);
}

/** Runs a command in `dir` (NO_COLOR only when given): its exit code and stdout. */
async function runIn(argv: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...extraEnv };
  if (extraEnv["NO_COLOR"] === undefined) delete childEnv["NO_COLOR"];
  const [command, ...args] = argv as [string, ...string[]];
  try {
    const { stdout } = await run(command, args, { cwd: dir, env: childEnv, timeout: 60_000 });
    return { code: 0, out: stdout };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string };
    if (typeof failed.code !== "number") throw err;
    return { code: failed.code, out: failed.stdout ?? "" };
  }
}

/** The engine's own view of a container (raw HTTP), or undefined. */
const engineView = (name: string) => dockerView(env.local.socket).inspect(`${prefix}-${name}`);

afterAll(async () => {
  await removeLocalContainers({ name: [prefix] });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("berth on a terminal", () => {
  test("a plan is coloured on a terminal, and not with NO_COLOR or when piped", async () => {
    writeFileSync(join(dir, "config.yaml"), config("1"));
    // `plan` exits 2: there are changes.
    const coloured = await onTerminal(["plan"]);
    expect(coloured.code).toBe(2);
    // The created container's line in green (32), its name in bold (1).
    expect(coloured.out).toContain(`${ESC}32m`);
    expect(coloured.out).toContain(`${ESC}1mslow${ESC}22m`);
    const noColor = await onTerminal(["plan"], { NO_COLOR: "1" });
    expect(noColor.code).toBe(2);
    expect(noColor.out).toContain("slow create");
    expect(noColor.out).not.toContain(ESC);
    const piped = await runIn([runtime, ...cliArgs, "plan"]);
    expect(piped.code).toBe(2);
    expect(piped.out).toContain("slow create");
    expect(piped.out).not.toContain(ESC);
  }, 120_000);

  test("a second Ctrl-C leaves at once, before the step in flight ends, and releases the lock", async () => {
    writeFileSync(join(dir, "config.yaml"), config("1"));
    await run(runtime, [...cliArgs, "apply", "--yes"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    const old = await engineView("slow");
    expect(old?.status).toBe("running");
    // A changed env var recreates it: stopping the old one takes 10 s (see config()).
    writeFileSync(join(dir, "config.yaml"), config("2"));
    const since = Math.floor(Date.now() / 1000) - 1;
    const child = spawn(runtime, [...cliArgs, "apply", "--yes"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const until = async (what: () => boolean, label: string) => {
      for (let i = 0; !what(); i++) {
        if (i > 600) throw new Error(`timed out waiting for ${label}\nstdout: ${stdout}\nstderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => stdout.includes("Plan: "), "the plan");
    // The engine's own event log says the stop is under way: the old container was sent SIGTERM.
    const filters = encodeURIComponent(JSON.stringify({ container: [old?.id], event: ["kill"] }));
    for (let i = 0;; i++) {
      const { body } = await dockerLocal(
        `/events?since=${since}&until=${Math.floor(Date.now() / 1000)}&filters=${filters}`,
      );
      // One event arrives parsed, several as text.
      if ((typeof body === "string" ? body : JSON.stringify(body)).includes('"signal":"15"')) break;
      if (i > 200) throw new Error(`the engine never stopped the old container\nstdout: ${stdout}\nstderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGINT");
    await until(() => stderr.includes("interrupt again to leave at once"), "the first interrupt's message");
    child.kill("SIGINT");
    const code = await exited;
    expect(code).toBe(130);
    // It left while the stop was still in flight: the old container still runs on the engine (set aside under
    // another name: the recreate is start-first, so the new one already runs under "slow").
    const { body } = await dockerLocal(`/containers/${old?.id}/json`);
    expect((body as { State: { Status: string } }).State.Status).toBe("running");
    expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
  }, 120_000);
});

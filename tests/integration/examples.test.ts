/**
 * The shipped examples, run as their comments tell a newcomer to, on the
 * real local engine: examples/app (apply, a config file edit restarts only
 * the worker, an env change recreates only the worker, destroy) and
 * examples/quickstart.sh. Checked through the engine's own HTTP API and the
 * page the example serves.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { dockerLocal, loadTestEnv, removeLocalContainers, type TestHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { ROOT, tsCommand } from "../support/ts-script.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-examples-"));
const prefix = `bt-ex-${process.pid}`;
const DOCKER_HOST = `unix://${env.local.socket}`;
const run = promisify(execFile);

/** A TCP port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The engine's own view of a container: id and state, or undefined. */
async function engineView(name: string): Promise<{ id: string; state: string } | undefined> {
  const { status, body } = await dockerLocal(`/containers/${name}/json`);
  if (status === 404) return undefined;
  const info = body as { Id: string; State: { Status: string } };
  return { id: info.Id, state: info.State.Status };
}

/** Polls the example's page until it contains `text` (the worker renders it every 2 s). */
async function pageShows(port: number, text: string): Promise<string> {
  let last = "";
  for (let i = 0; i < 60; i++) {
    last = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), (err: Error) => err.message);
    if (last.includes(text)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`http://127.0.0.1:${port}/ never showed ${JSON.stringify(text)}; last: ${last}`);
}

afterAll(async () => {
  await removeLocalContainers({ name: [prefix] });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("examples/app", () => {
  let port = 0;
  const work = join(dir, "app");
  // The example as shipped; only what would collide with another run changes: its
  // directory under /tmp, its port, and the container names (prefixed).
  const original = readFileSync(join(ROOT, "examples", "app", "config.yaml"), "utf8");
  const edited = (text: string) =>
    text.replaceAll("/tmp/berth-app", join(dir, "app-files")).replaceAll("8099", String(port))
      .replace(/^ {2}(web|worker):\n/gm, (_, key: string) => `  ${key}:\n    name: ${prefix}-${key}\n`);
  const write = (text: string) => writeFileSync(join(work, "config.yaml"), edited(text));
  // A separate process, as a user runs it: DOCKER_HOST reaches the engine settings through its environment.
  const berth = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const [command, prefixArgs] = tsCommand(join(ROOT, "cli.ts"));
    try {
      const { stdout, stderr } = await run(command, [...prefixArgs, ...args], {
        cwd: work,
        env: { ...process.env, DOCKER_HOST, NO_COLOR: "1" },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const failed = err as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== "number") throw err;
      return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  };

  test("`berth apply` creates both, writes app.conf, and the page is served", async () => {
    port = await freePort();
    mkdirSync(work, { recursive: true });
    expect(original).toContain("greeting = hello");
    write(original);
    const applied = await berth("apply", "--yes");
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect((await engineView(`${prefix}-web`))?.state).toBe("running");
    expect((await engineView(`${prefix}-worker`))?.state).toBe("running");
    expect(readFileSync(join(dir, "app-files", "app.conf"), "utf8")).toBe("greeting = hello\nworkers = 1\n");
    expect(await pageShows(port, "greeting = hello")).toContain("greeting = hello");
  }, 90_000);

  test("editing the greeting rewrites app.conf and restarts only the worker, recreating nothing", async () => {
    const web = await engineView(`${prefix}-web`);
    const worker = await engineView(`${prefix}-worker`);
    write(original.replace("greeting = hello", "greeting = bonjour"));
    const plan = await berth("plan");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("Plan: 1 update-files.");
    expect(plan.stdout).toMatch(/~ worker update-files/);
    expect((await berth("apply", "--yes")).code).toBe(0);
    expect(await engineView(`${prefix}-web`)).toEqual(web);
    expect((await engineView(`${prefix}-worker`))?.id).toBe(worker?.id);
    await pageShows(port, "greeting = bonjour");
  }, 90_000);

  test("editing LEVEL recreates only the worker; destroy removes both", async () => {
    const web = await engineView(`${prefix}-web`);
    const worker = await engineView(`${prefix}-worker`);
    write(original.replace("greeting = hello", "greeting = bonjour").replace('LEVEL: "1"', 'LEVEL: "2"'));
    const plan = await berth("plan");
    expect(plan.stdout).toContain("Plan: 1 recreate.");
    expect(plan.stdout).toMatch(/-\/\+ worker recreate/);
    expect((await berth("apply", "--yes")).code).toBe(0);
    expect(await engineView(`${prefix}-web`)).toEqual(web);
    const recreated = await engineView(`${prefix}-worker`);
    expect(recreated?.state).toBe("running");
    expect(recreated?.id).not.toBe(worker?.id);
    expect((await berth("destroy", "--yes")).code).toBe(0);
    expect(await engineView(`${prefix}-web`)).toBeUndefined();
    expect(await engineView(`${prefix}-worker`)).toBeUndefined();
  }, 90_000);
});

describe("examples/safe-rollout", () => {
  const hosts = env.hosts.slice(0, 3) as [TestHost, TestHost, TestHost];
  const work = join(dir, "safe-rollout");
  const [command, prefixArgs] = tsCommand(join(ROOT, "cli.ts"));
  const berth = [command, ...prefixArgs].join(" ");
  /** The example's containers gone from the fleet, whatever a failed run left. */
  const removeDemo = async () => {
    for (const host of hosts) {
      for (const name of ["demo-web", "demo-db"]) {
        await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE", socket: host.dockerSocket });
      }
    }
  };

  test(
    "rollout.sh: web after db, version 2 host by host, the broken version 3 stops at node1 and is undone there",
    async () => {
      await removeDemo();
      mkdirSync(work, { recursive: true });
      const since = Date.now() / 1000 - 1;
      const { stdout } = await run("bash", [join(ROOT, "examples", "safe-rollout", "rollout.sh")], {
        env: { ...process.env, WORK: work, PAUSE: "0s", BERTH: berth, NO_COLOR: "1" },
        timeout: 180_000,
      });
      expect(stdout).toContain("Batch 1 of 3: node1");
      expect(stdout).toContain(`not started: the rollout stopped after a failure on host ${hosts[0].address}`);
      expect(stdout).toContain("1 failed, 2 not started.");
      expect(stdout).toContain("the old container is back under its name and running");

      // From the engines' events: which host created what, when.
      const creates: Array<{ host: number; name: string; timeNano: number }> = [];
      for (const [index, host] of hosts.entries()) {
        const filters = encodeURIComponent(JSON.stringify({ type: ["container"], event: ["create"] }));
        const until = Date.now() / 1000 + 1;
        const { body } = await dockerLocal(`/events?since=${since}&until=${until}&filters=${filters}`, {
          socket: host.dockerSocket,
        });
        for (const line of String(typeof body === "string" ? body : JSON.stringify(body)).split("\n")) {
          if (line.trim() === "") continue;
          const e = JSON.parse(line) as { timeNano: number; Actor: { Attributes: { name?: string } } };
          const name = e.Actor.Attributes.name ?? "";
          if (name.startsWith("demo-")) creates.push({ host: index + 1, name, timeNano: e.timeNano });
        }
      }
      const webs = (host: number) => creates.filter((c) => c.host === host && c.name === "demo-web");
      // node1: versions 1, 2 and 3 (failed: 2 put back); node2 and node3 only 1 and 2: 3 never reached them.
      expect([webs(1).length, webs(2).length, webs(3).length]).toEqual([3, 2, 2]);
      // db before web on node1; version 2 went node1, then node2, then node3 (the pause is rollout.test.ts's).
      const db = creates.find((c) => c.name === "demo-db");
      expect(db?.timeNano).toBeLessThan(webs(1)[0]?.timeNano as number);
      const [n1, n2, n3] = [1, 2, 3].map((host) => webs(host)[1]?.timeNano ?? 0) as [number, number, number];
      expect(n2).toBeGreaterThan(n1);
      expect(n3).toBeGreaterThan(n2);

      // In the end every web runs version 2, each host's engine says.
      for (const host of hosts) {
        const { body } = await dockerLocal("/containers/demo-web/json", { socket: host.dockerSocket });
        const c = body as { State: { Running: boolean }; Config: { Env: string[] } };
        expect(c.State.Running).toBe(true);
        expect(c.Config.Env).toContain("VERSION=2");
      }
      const destroyed = await run(command, [...prefixArgs, "destroy", "--yes"], { cwd: work, env: process.env });
      expect(destroyed.stdout).toContain("4 removed");
    },
    240_000,
  );

  afterAll(removeDemo, 60_000);
});

describe("examples/quickstart.sh", () => {
  test("deploys examples/hello with dist/cli.js and shows it running", async () => {
    const hello = join(ROOT, "examples", "hello");
    // It writes examples/hello/state.yaml (git-ignored): never over someone's own.
    if (existsSync(join(hello, "state.yaml"))) throw new Error(`${hello}/state.yaml exists: move it away first`);
    const childEnv = { ...process.env, DOCKER_HOST, NO_COLOR: "1" };
    try {
      const { stdout } = await run("bash", [join(ROOT, "examples", "quickstart.sh")], {
        env: childEnv,
        timeout: 240_000,
      });
      expect(stdout).toMatch(/hello +running/);
      expect((await engineView("hello"))?.state).toBe("running");
    } finally {
      await run("node", [join(ROOT, "dist", "cli.js"), "destroy", "--yes"], { cwd: hello, env: childEnv })
        .catch(() => {});
      rmSync(join(hello, "state.yaml"), { force: true });
    }
    expect(await engineView("hello")).toBeUndefined();
  }, 300_000);
});

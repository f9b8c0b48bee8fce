/**
 * Recreates on containerd (the kubelet runtime) keep the old container until
 * the new one passed: the new one runs in a new sandbox (the next
 * generation of the name), a failed one is removed and the old sandbox runs
 * again, a good one leaves one sandbox whose logs `berth logs` reads, and
 * two sandboxes of one name (what a killed run leaves) settle on the next
 * apply. Sandboxes and their containers are checked through `ctr`, log
 * directories on the file system.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { runCli } from "../support/cli.ts";
import { criSandboxes } from "../support/cri-sandboxes.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-cri-replace-"));
const name = `bt-crirep-${process.pid}`;

function config(gen: string, check: string, order = "stop-first"): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  kubelet: { address: "unix://${cri.local.socket}" }`,
    "containers:",
    `  web: { name: ${name}, host: local, image: ${cri.image}, networkMode: host, env: { GEN: "${gen}" },`,
    `    entrypoint: [sh, -c], args: ["echo gen $GEN; trap 'exit 0' TERM; while :; do sleep 1; done"],`,
    `    healthcheck: { test: "${check}", interval: 200ms, retries: 2 }, recreateOrder: ${order} }`,
    "",
  ].join("\n");
}

/** The name's sandboxes by id, each true when its main container runs. */
function seen(): { sandboxes: Map<string, boolean> } {
  const all = criSandboxes(cri.local.socket, name);
  return { sandboxes: new Map([...all].map(([id, s]) => [id, s.running])) };
}

afterAll(async () => {
  writeFileSync(join(dir, "config.yaml"), "hosts: { local: { direct: {} } }\ncontainers: {}\n");
  await runCli(["destroy", "--yes"], dir);
  rmSync(dir, { recursive: true, force: true });
  // What a failed test left beside the state (a sandbox made by hand).
  const transport = directTransport();
  const raw = kubeletRuntime({ address: `unix://${cri.local.socket}` }, { transport, hostLabel: "local" });
  for (const c of await raw.list({ "berth.name": name })) await raw.remove(c.id, { force: true });
  await raw.close();
  await transport.close();
}, 90_000);

describe("recreates on containerd (CRI): a new sandbox beside the old one", () => {
  test(
    "a new one failing its gate leaves the old one running; a good one ends with one sandbox, logs readable",
    async () => {
      writeFileSync(join(dir, "config.yaml"), config("1", "true"));
      const first = await runCli(["apply", "--yes"], dir);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const [old] = [...seen().sandboxes.keys()];
      expect(seen().sandboxes).toEqual(new Map([[old, true]]));

      writeFileSync(join(dir, "config.yaml"), config("2", "exit 1"));
      const plan = await runCli(["plan"], dir);
      expect(plan.stdout).toContain("recreate on local (stop-first");
      const bad = await runCli(["apply", "--yes"], dir);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("the old container is back under its name and running");
      expect(seen().sandboxes).toEqual(new Map([[old, true]]));

      writeFileSync(join(dir, "config.yaml"), config("3", "true"));
      const good = await runCli(["apply", "--yes"], dir);
      expect(good.stderr).toBe("");
      expect(good.code).toBe(0);
      const now = seen().sandboxes;
      expect(now.size).toBe(1);
      const [fresh] = [...now.keys()];
      expect(fresh).not.toBe(old);
      expect(now.get(fresh as string)).toBe(true);
      // Each generation has its log directory: removing the old sandbox deleted its own, not the new one's.
      expect(readdirSync("/var/log/berth").filter((d) => d === name || d.startsWith(`${name}@`))).toEqual([
        `${name}@1`,
      ]);
      const logs = await runCli(["logs", "web"], dir);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toContain("gen 3");
      expect(logs.stdout).not.toContain("gen 1");
      expect((await runCli(["plan"], dir)).stdout).toContain("No changes");

      // Declared start-first (nothing binds a fixed port): the new sandbox starts beside the running old one.
      writeFileSync(join(dir, "config.yaml"), config("4", "true", "start-first"));
      expect((await runCli(["plan"], dir)).stdout).toContain("recreate on local (start-first");
      const beside = await runCli(["apply", "--yes"], dir);
      expect(beside.stderr).toBe("");
      expect(beside.code).toBe(0);
      const last = seen().sandboxes;
      expect([...last.values()]).toEqual([true]);
      expect(last.has(fresh as string)).toBe(false);
      expect((await runCli(["logs", "web"], dir)).stdout).toContain("gen 4");
    },
    120_000,
  );

  test("two sandboxes of one name, as a killed recreate leaves them, settle on the next apply", async () => {
    const transport = directTransport();
    const raw = kubeletRuntime({ address: `unix://${cri.local.socket}` }, { transport, hostLabel: "local" });
    try {
      const [old] = [...seen().sandboxes.keys()] as [string];
      const labels = (await raw.inspect(old))?.labels ?? {};
      const spec = {
        name,
        image: cri.image,
        networkMode: "host",
        entrypoint: ["sh", "-c"],
        args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
      };
      // A killed run after the new sandbox was created, before it started: the old one is restored.
      await raw.rename?.(old, `${name}.berth-old-${old.slice(0, 8)}`);
      const unfinished = await raw.create(spec, { labels });
      expect(seen().sandboxes.size).toBe(2);
      const restore = await runCli(["plan"], dir);
      expect(restore.stdout).toContain("restore");
      expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
      expect(seen().sandboxes).toEqual(new Map([[old, true]]));
      expect(unfinished).not.toBe(old);

      // A killed run after the new one started as configured (its labels say so): the old one is removed.
      await raw.rename?.(old, `${name}.berth-old-${old.slice(0, 8)}`);
      const started = await raw.create(spec, { labels });
      await raw.start(started);
      const finish = await runCli(["plan"], dir);
      expect(finish.stdout).toContain("finish");
      expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
      expect(seen().sandboxes).toEqual(new Map([[started, true]]));
    } finally {
      await raw.close();
      await transport.close();
    }
  }, 120_000);
});

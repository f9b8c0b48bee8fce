/**
 * The check -> plan -> apply cycle through the library, on the real local
 * engine of the test environment (direct transport).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { BerthError } from "../../core/errors.ts";

const env = loadTestEnv();
const engine = { docker: { host: `unix://${env.local.socket}` } };
const prefix = `bt-engine-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "berth-engine-"));
// An independent view of the engine, to check what berth did.
const raw = dockerRuntime(engine.docker, { transport: directTransport(), hostLabel: "local" });

function hcc(name: string, extra: Partial<HostConfiguredContainer["container"]["config"]> = {}, configFiles?: Record<string, string>): HostConfiguredContainer {
  return {
    container: {
      config: {
        name: `${prefix}-${name}`,
        image: env.image,
        entrypoint: ["sh", "-c"],
        args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
        networkMode: "none",
        ...extra,
      },
      runtime: engine,
    },
    host: { directConfig: {} },
    ...(configFiles === undefined ? {} : { configFiles }),
  };
}

let state: ContainersState = {};

/** One run: check, plan, apply; the state is persisted through onState like the CLI does. */
async function converge(desired: ContainersState) {
  const resource = new ContainersResource({ previousState: state, desiredState: desired });
  try {
    await resource.checkCurrentState();
    const plan = resource.plan();
    const snapshots: ContainersState[] = [];
    const result = await resource.apply({ onState: (s) => void snapshots.push(s) });
    state = result.state;
    return { plan, result, snapshots };
  } finally {
    await resource.close();
  }
}

async function planOnly(desired: ContainersState) {
  const resource = new ContainersResource({ previousState: state, desiredState: desired });
  try {
    await resource.checkCurrentState();
    return resource.plan();
  } finally {
    await resource.close();
  }
}

const confPath = join(dir, "etc", "web.conf");
const dataDir = join(dir, "data", "web") + "/";
let desired: ContainersState = {
  web: hcc("web", { env: { GREETING: "hello" }, mounts: [{ source: dataDir, target: "/data" }] }, { [confPath]: "greeting = hello\n" }),
  worker: hcc("worker", { env: { ROLE: "worker" } }),
  cache: hcc("cache", { init: true, entrypoint: ["sleep"], args: ["100000"] }),
};

afterAll(async () => {
  for (const c of await raw.list({ "berth.managed": "true" })) if (c.name.startsWith(prefix)) await raw.remove(c.id, { force: true });
  await raw.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ContainersResource on the local engine", () => {
  test("apply() creates every container from nothing, with files, directory mounts and labels", async () => {
    const { plan, result, snapshots } = await converge(desired);
    expect(plan.summary).toEqual({ create: 3 });
    expect(result.failed).toBe(0);
    for (const name of ["web", "worker", "cache"]) {
      const id = state[name]?.container.status?.id as string;
      const seen = await raw.inspect(id);
      expect(seen?.status).toBe("running");
      expect(seen?.labels["berth.managed"]).toBe("true");
      expect(seen?.labels["berth.name"]).toBe(`${prefix}-${name}`);
      expect(seen?.labels["berth.config-hash"]?.length).toBe(64);
    }
    expect(readFileSync(confPath, "utf8")).toBe("greeting = hello\n");
    expect(statSync(confPath).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).isDirectory()).toBe(true);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    // The state was handed over as the steps went (writes of concurrent steps may be merged), the last one final.
    expect(snapshots.length).toBeGreaterThanOrEqual(3);
    expect(snapshots.at(-1)).toEqual(state);
    for (const name of ["web", "worker", "cache"]) expect(snapshots.some((s) => s[name]?.container.status?.status === "created")).toBe(true);
    // No helper container is left behind.
    expect((await raw.list({ "berth.helper": "true" })).filter((c) => c.name.startsWith(prefix))).toHaveLength(0);
  }, 60_000);

  test("plan() is empty right after an apply", async () => {
    const plan = await planOnly(desired);
    expect(plan.empty).toBe(true);
    expect(plan.changes.map((c) => c.action)).toEqual(["nothing", "nothing", "nothing"]);
  }, 30_000);

  test("a changed env var recreates only that container, with a diff", async () => {
    const before = { web: state.web?.container.status?.id, cache: state.cache?.container.status?.id };
    desired = { ...desired, worker: hcc("worker", { env: { ROLE: "worker", LEVEL: "2" } }) };
    const { plan } = await converge(desired);
    expect(plan.summary).toEqual({ recreate: 1 });
    const change = plan.changes.find((c) => c.name === "worker");
    expect(change?.diff).toEqual([{ op: "+", path: "env.LEVEL", after: '"2"' }]);
    expect(state.web?.container.status?.id).toBe(before.web);
    expect(state.cache?.container.status?.id).toBe(before.cache);
    expect((await planOnly(desired)).empty).toBe(true);
  }, 60_000);

  test("a changed config file is rewritten and its container restarted, not recreated", async () => {
    const id = state.web?.container.status?.id as string;
    desired = { ...desired, web: { ...desired.web as HostConfiguredContainer, configFiles: { [confPath]: "greeting = bonjour\n" } } };
    const { plan } = await converge(desired);
    expect(plan.summary).toEqual({ "update-files": 1 });
    const change = plan.changes.find((c) => c.name === "web");
    expect(change?.reasons.join(" ")).toContain(`config file ${confPath} differs`);
    expect(change?.reasons.join(" ")).toContain("restarted");
    expect(change?.diff.some((d) => d.op === "+" && d.after === "greeting = bonjour")).toBe(true);
    expect(state.web?.container.status?.id).toBe(id);
    expect(readFileSync(confPath, "utf8")).toBe("greeting = bonjour\n");
    expect((await planOnly(desired)).empty).toBe(true);
  }, 60_000);

  test("a config file edited on the host is detected and rewritten", async () => {
    writeFileSync(confPath, "edited by hand\n");
    const plan = await planOnly(desired);
    expect(plan.summary).toEqual({ "update-files": 1 });
    await converge(desired);
    expect(readFileSync(confPath, "utf8")).toBe("greeting = bonjour\n");
  }, 60_000);

  test("a container removed by hand is recreated", async () => {
    await raw.remove(state.worker?.container.status?.id as string, { force: true });
    const plan = await planOnly(desired);
    expect(plan.changes.find((c) => c.name === "worker")?.action).toBe("create");
    expect(plan.changes.find((c) => c.name === "worker")?.reasons.join(" ")).toContain("no longer exists");
    await converge(desired);
    expect((await raw.status(state.worker?.container.status?.id as string))?.status).toBe("running");
  }, 60_000);

  test("a container stopped by hand is started", async () => {
    await raw.stop(state.cache?.container.status?.id as string, { timeoutSeconds: 1 });
    const { plan } = await converge(desired);
    expect(plan.summary).toEqual({ start: 1 });
    expect((await raw.status(state.cache?.container.status?.id as string))?.status).toBe("running");
  }, 60_000);

  test("a container replaced by hand under the same name is refused with the reason", async () => {
    const id = state.cache?.container.status?.id as string;
    await raw.remove(id, { force: true });
    await raw.create({ name: `${prefix}-cache`, image: env.image, entrypoint: ["sleep"], args: ["100000"] });
    const plan = await planOnly(desired);
    const change = plan.changes.find((c) => c.name === "cache");
    expect(change?.action).toBe("blocked");
    expect(change?.reasons.join(" ")).toContain("which berth did not create");
    const foreign = await raw.inspect(`${prefix}-cache`);
    await raw.remove(foreign?.id as string, { force: true });
    await converge(desired);
  }, 60_000);

  test("a container renamed by hand is recreated under its name", async () => {
    const id = state.cache?.container.status?.id as string;
    const status = await dockerLocal(`/containers/${id}/rename?name=${prefix}-renamed`, { method: "POST" });
    expect(status.status).toBe(204);
    const plan = await planOnly(desired);
    const change = plan.changes.find((c) => c.name === "cache");
    expect(change?.action).toBe("recreate");
    expect(change?.reasons.join(" ")).toContain(`renamed to "${prefix}-renamed" outside berth`);
    await converge(desired);
    expect(await raw.status(id)).toBeUndefined();
    expect((await raw.inspect(`${prefix}-cache`))?.status).toBe("running");
  }, 60_000);

  test("a config file under a symlinked directory on the host is refused, nothing written elsewhere", async () => {
    const real = join(dir, "real");
    mkdirSync(real);
    symlinkSync(real, join(dir, "link"));
    const unsafe = { ...desired, linked: hcc("linked", {}, { [join(dir, "link", "x.conf")]: "x\n" }) };
    const { result } = await converge(unsafe);
    const failure = result.results.find((r) => r.name === "linked");
    expect(failure?.ok).toBe(false);
    expect(failure?.error?.code).toBe("UNSAFE_PATH");
    expect(failure?.error?.message).toContain(`"${join(dir, "link")}" on host local is a symbolic link`);
    expect(existsSync(join(real, "x.conf"))).toBe(false);
    expect(state.linked).toBeUndefined();
  }, 60_000);

  test("a removed entry is removed from the host", async () => {
    const id = state.cache?.container.status?.id as string;
    const { cache: _gone, ...rest } = desired;
    desired = rest;
    const { plan } = await converge(desired);
    expect(plan.summary).toEqual({ remove: 1 });
    expect(await raw.status(id)).toBeUndefined();
    expect(state.cache).toBeUndefined();
  }, 60_000);

  test("an apply that fails half-way keeps what it did, and the next apply completes without duplicates", async () => {
    // "bad" is created but cannot start: its entrypoint does not exist.
    desired = { ...desired, bad: hcc("bad", { entrypoint: ["/no/such/binary"], args: [] }), good: hcc("good") };
    const { result } = await converge(desired);
    expect(result.failed).toBe(1);
    const failure = result.results.find((r) => !r.ok);
    expect(failure?.error?.message).toContain(`starting container "bad" on host local`);
    expect(state.good?.container.status?.status).toBe("running");
    const badId = state.bad?.container.status?.id as string;
    expect(badId.length).toBeGreaterThan(0); // created, recorded, not forgotten
    expect(state.bad?.container.status?.status).toBe("created");
    // Fix the config: the recorded container is replaced, not duplicated.
    desired = { ...desired, bad: hcc("bad") };
    const second = await converge(desired);
    expect(second.plan.changes.find((c) => c.name === "bad")?.action).toBe("recreate");
    expect(second.result.failed).toBe(0);
    expect(await raw.status(badId)).toBeUndefined();
    const mine = (await raw.list({ "berth.managed": "true" })).filter((c) => c.name.startsWith(prefix));
    expect(mine.map((c) => c.name).sort()).toEqual(["bad", "good", "web", "worker"].map((n) => `${prefix}-${n}`));
  }, 60_000);

  test("a directory mount replaced by a file is refused with the reason", async () => {
    rmSync(dataDir, { recursive: true });
    writeFileSync(dataDir.slice(0, -1), "not a directory");
    const plan = await planOnly(desired);
    const change = plan.changes.find((c) => c.name === "web");
    expect(change?.action).toBe("blocked");
    expect(change?.reasons.join(" ")).toContain("is a file");
    rmSync(dataDir.slice(0, -1));
    mkdirSync(dataDir);
  }, 60_000);

  test("plan() before checkCurrentState() throws STATE", () => {
    const resource = new ContainersResource({ desiredState: desired });
    expect(() => resource.plan()).toThrow(BerthError);
  });

  test("a saved plan is refused when a host changed since it was made", async () => {
    const resource = new ContainersResource({ previousState: state, desiredState: { ...desired, extra: hcc("extra") } });
    try {
      await resource.checkCurrentState();
      const saved = resource.plan();
      await raw.stop(state.good?.container.status?.id as string, { timeoutSeconds: 1 });
      await resource.checkCurrentState();
      await expect(resource.apply({ plan: saved })).rejects.toThrow(`container "good" was running, now exited`);
    } finally {
      await resource.close();
    }
    await converge(desired);
  }, 60_000);

  test("destroy: an empty desired state removes everything", async () => {
    const ids = Object.values(state).map((h) => h.container.status?.id as string);
    const { plan } = await converge({});
    expect(plan.summary).toEqual({ remove: 4 });
    for (const id of ids) expect(await raw.status(id)).toBeUndefined();
    expect(state).toEqual({});
  }, 60_000);
});

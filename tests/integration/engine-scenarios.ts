/**
 * The check -> plan -> apply scenarios of the state engine, parameterised by
 * runtime and host, so every runtime plugin (Docker, kubelet/CRI) and
 * transport runs the same suite. A test file calls {@link engineScenarios}
 * inside nothing else: it registers its own `describe`.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostLabel } from "../../core/host.ts";
import type {
  ContainerConfig,
  ContainersState,
  Host,
  HostConfiguredContainer,
  RuntimeConfig,
} from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { Runtime } from "../../runtimes/runtime.ts";
import { berthContainers, type EngineView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { codeOf } from "../support/errors.ts";

/** What the scenarios run against. */
export interface ScenarioSetup {
  /** Suite title, e.g. `the local Docker engine`. */
  title: string;
  /** Unique container name prefix (include the pid). */
  prefix: string;
  image: string;
  runtime: RuntimeConfig;
  host: Host;
  /** A runtime on the same engine, to act behind berth's back (remove, stop, create by hand). */
  raw: Runtime;
  /** The same engine seen without berth's code, for every check of what berth did. */
  view: EngineView;
  /**
   * Where config files and mount directories go: `dir` as berth names it on the
   * host, `local(path)` where the test reads that path (the host's own view).
   * Default: a fresh directory of the test machine.
   */
  files?: { dir: string; local: (path: string) => string };
  /** Config every container gets (network mode and so on). */
  base?: Partial<ContainerConfig>;
  /** A long-running entrypoint the runtime can stop quickly (on top of `base`). */
  quickStop?: Partial<ContainerConfig>;
}

/**
 * Registers the engine scenarios for one runtime and host.
 *
 * @example
 * ```ts
 * engineScenarios({ title: "the local engine", prefix: `bt-${process.pid}`, image, runtime, host: { directConfig: {} }, raw });
 * ```
 */
export function engineScenarios(setup: ScenarioSetup): void {
  const { prefix, raw, view } = setup;
  const label = hostLabel(setup.host);
  const { dir, local } = setup.files ?? { dir: mkdtempSync(join(tmpdir(), "berth-engine-")), local: (p: string) => p };
  mkdirSync(local(dir), { recursive: true });
  const quickStop = setup.quickStop ??
    { entrypoint: ["sh", "-c"], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"] };

  function hcc(
    name: string,
    extra: Partial<ContainerConfig> = {},
    configFiles?: Record<string, string>,
  ): HostConfiguredContainer {
    return {
      container: {
        config: { name: `${prefix}-${name}`, image: setup.image, ...setup.base, ...quickStop, ...extra },
        runtime: setup.runtime,
      },
      host: setup.host,
      ...(configFiles === undefined ? {} : { configFiles }),
    };
  }

  let state: ContainersState = {};

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

  const id = (name: string) => state[name]?.container.status?.id as string;
  const seen = async (idOrName: string) => await view.inspect(idOrName);
  const mine = async () => (await berthContainers(view)).filter((c) => c.name.startsWith(prefix));
  const confPath = join(dir, "etc", "web.conf");
  const dataDir = join(dir, "data", "web") + "/";
  let desired: ContainersState = {
    web: hcc("web", { env: { GREETING: "hello" }, mounts: [{ source: dataDir, target: "/data" }] }, {
      [confPath]: "greeting = hello\n",
    }),
    worker: hcc("worker", { env: { ROLE: "worker" } }),
    cache: hcc("cache", { env: { ROLE: "cache" } }),
  };

  afterAll(async () => {
    for (const c of await raw.list({ "berth.managed": "true" })) {
      if (c.name.startsWith(prefix)) await raw.remove(c.id, { force: true });
    }
    rmSync(local(dir), { recursive: true, force: true });
  });

  describe(`ContainersResource on ${setup.title}`, () => {
    test("apply() creates every container from nothing, with files, directory mounts and labels", async () => {
      const { plan, result, snapshots } = await converge(desired);
      expect(plan.summary).toEqual({ create: 3 });
      expect(result.results.filter((r) => !r.ok).map((r) => r.error?.message)).toEqual([]);
      for (const name of ["web", "worker", "cache"]) {
        const found = await seen(id(name));
        expect(found?.status).toBe("running");
        expect(found?.labels["berth.managed"]).toBe("true");
        expect(found?.labels["berth.name"]).toBe(`${prefix}-${name}`);
        expect(found?.labels["berth.config-hash"]?.length).toBe(64);
      }
      expect(readFileSync(local(confPath), "utf8")).toBe("greeting = hello\n");
      expect(statSync(local(confPath)).mode & 0o777).toBe(0o600);
      expect(statSync(local(dataDir)).isDirectory()).toBe(true);
      expect(statSync(local(dataDir)).mode & 0o777).toBe(0o700);
      // The state was handed over as the steps went (writes of concurrent steps may be merged), the last one final.
      expect(snapshots.length).toBeGreaterThanOrEqual(3);
      expect(snapshots.at(-1)).toEqual(state);
      for (const name of ["web", "worker", "cache"]) {
        expect(snapshots.some((s) => s[name]?.container.status?.status === "created")).toBe(true);
      }
      // Helpers have names of their own (berth-files-...): none is left on the engine.
      expect((await berthContainers(view)).filter((c) => c.labels["berth.helper"] === "true")).toEqual([]);
    }, 90_000);

    test("plan() is empty right after an apply", async () => {
      const plan = await planOnly(desired);
      expect(plan.empty).toBe(true);
      expect(plan.changes.map((c) => c.action)).toEqual(["nothing", "nothing", "nothing"]);
    }, 60_000);

    test("a changed env var recreates only that container, with a diff", async () => {
      const before = { web: id("web"), cache: id("cache") };
      desired = { ...desired, worker: hcc("worker", { env: { ROLE: "worker", LEVEL: "2" } }) };
      const { plan } = await converge(desired);
      expect(plan.summary).toEqual({ recreate: 1 });
      expect(plan.changes.find((c) => c.name === "worker")?.diff).toEqual([{
        op: "+",
        path: "env.LEVEL",
        after: '"2"',
      }]);
      expect(id("web")).toBe(before.web);
      expect(id("cache")).toBe(before.cache);
      expect((await planOnly(desired)).empty).toBe(true);
    }, 90_000);

    test("a changed config file is rewritten and its container restarted, not recreated", async () => {
      const before = id("web");
      desired = {
        ...desired,
        web: { ...desired.web as HostConfiguredContainer, configFiles: { [confPath]: "greeting = bonjour\n" } },
      };
      const { plan, result } = await converge(desired);
      expect(plan.summary).toEqual({ "update-files": 1 });
      expect(result.failed).toBe(0);
      expect(plan.changes.find((c) => c.name === "web")?.reasons.join(" ")).toContain(
        `config file ${confPath} differs`,
      );
      expect(id("web")).toBe(before);
      expect((await seen(before))?.status).toBe("running");
      expect(readFileSync(local(confPath), "utf8")).toBe("greeting = bonjour\n");
      expect((await planOnly(desired)).empty).toBe(true);
    }, 90_000);

    test("a config file edited on the host is detected and rewritten", async () => {
      writeFileSync(local(confPath), "edited by hand\n");
      expect((await planOnly(desired)).summary).toEqual({ "update-files": 1 });
      await converge(desired);
      expect(readFileSync(local(confPath), "utf8")).toBe("greeting = bonjour\n");
    }, 90_000);

    test("a container removed by hand is recreated", async () => {
      await raw.remove(id("worker"), { force: true });
      const plan = await planOnly(desired);
      expect(plan.changes.find((c) => c.name === "worker")?.action).toBe("create");
      expect(plan.changes.find((c) => c.name === "worker")?.reasons.join(" ")).toContain("no longer exists");
      await converge(desired);
      expect((await seen(id("worker")))?.status).toBe("running");
    }, 90_000);

    test("a container stopped by hand is started", async () => {
      await raw.stop(id("cache"), { timeoutSeconds: 1 });
      const { plan } = await converge(desired);
      expect(plan.summary).toEqual({ start: 1 });
      expect((await seen(id("cache")))?.status).toBe("running");
    }, 90_000);

    test("a container replaced by hand under the same name is refused with the reason", async () => {
      await raw.remove(id("cache"), { force: true });
      await raw.create({ name: `${prefix}-cache`, image: setup.image, ...setup.base, ...quickStop });
      const change = (await planOnly(desired)).changes.find((c) => c.name === "cache");
      expect(change?.action).toBe("blocked");
      expect(change?.reasons.join(" ")).toContain("which berth did not create");
      const foreign = await seen(`${prefix}-cache`);
      expect(foreign?.labels["berth.managed"]).toBeUndefined();
      await raw.remove(foreign?.id as string, { force: true });
      await converge(desired);
    }, 90_000);

    test("a config file under a symlinked directory on the host is refused, nothing written elsewhere", async () => {
      const real = join(dir, "real");
      mkdirSync(local(real));
      symlinkSync(real, local(join(dir, "link")));
      const unsafe = { ...desired, linked: hcc("linked", {}, { [join(dir, "link", "x.conf")]: "x\n" }) };
      const { result } = await converge(unsafe);
      const failure = result.results.find((r) => r.name === "linked");
      expect(failure?.ok).toBe(false);
      expect(failure?.error?.code).toBe("UNSAFE_PATH");
      expect(failure?.error?.message).toContain(`"${join(dir, "link")}" on host ${label} is a symbolic link`);
      expect(existsSync(local(join(real, "x.conf")))).toBe(false);
      expect(state.linked).toBeUndefined();
    }, 90_000);

    test("a removed entry is removed from the host", async () => {
      const cacheId = id("cache");
      const { cache: _gone, ...rest } = desired;
      desired = rest;
      const { plan } = await converge(desired);
      expect(plan.summary).toEqual({ remove: 1 });
      expect(await seen(cacheId)).toBeUndefined();
      expect(state.cache).toBeUndefined();
    }, 90_000);

    test(
      "an apply that fails half-way keeps what it did, and the next apply completes without duplicates",
      async () => {
        desired = { ...desired, bad: hcc("bad", { entrypoint: ["/no/such/binary"], args: [] }), good: hcc("good") };
        const { result } = await converge(desired);
        expect(result.failed).toBe(1);
        expect(result.results.find((r) => !r.ok)?.error?.message).toContain(
          `starting container "bad" on host ${label}`,
        );
        expect(state.good?.container.status?.status).toBe("running");
        const badId = id("bad");
        expect(badId.length).toBeGreaterThan(0);
        expect(state.bad?.container.status?.status).toBe("created");
        desired = { ...desired, bad: hcc("bad") };
        const second = await converge(desired);
        expect(second.plan.changes.find((c) => c.name === "bad")?.action).toBe("recreate");
        expect(second.result.failed).toBe(0);
        expect(await seen(badId)).toBeUndefined();
        expect((await mine()).map((c) => c.name).sort()).toEqual(
          ["bad", "good", "web", "worker"].map((n) => `${prefix}-${n}`),
        );
      },
      90_000,
    );

    test("a directory mount replaced by a file is refused with the reason", async () => {
      rmSync(local(dataDir), { recursive: true });
      writeFileSync(local(dataDir.slice(0, -1)), "not a directory");
      const change = (await planOnly(desired)).changes.find((c) => c.name === "web");
      expect(change?.action).toBe("blocked");
      expect(change?.reasons.join(" ")).toContain("is a file");
      rmSync(local(dataDir.slice(0, -1)));
      mkdirSync(local(dataDir));
    }, 90_000);

    test("plan() before checkCurrentState() throws STATE", async () => {
      const resource = new ContainersResource({ desiredState: desired });
      const thrown = await codeOf(Promise.resolve().then(() => resource.plan()));
      expect(thrown.code).toBe("STATE");
      expect(thrown.message).toContain("Cannot plan before checkCurrentState() has run");
    });

    test("a saved plan is refused when a host changed since it was made", async () => {
      const resource = new ContainersResource({
        previousState: state,
        desiredState: { ...desired, extra: hcc("extra") },
      });
      try {
        await resource.checkCurrentState();
        const saved = resource.plan();
        await raw.stop(id("good"), { timeoutSeconds: 1 });
        await resource.checkCurrentState();
        await expect(resource.apply({ plan: saved })).rejects.toThrow(`container "good" was running, now exited`);
      } finally {
        await resource.close();
      }
      await converge(desired);
    }, 90_000);

    test("destroy: an empty desired state removes everything, also after a container was stopped by hand", async () => {
      const ids = Object.values(state).map((h) => h.container.status?.id as string);
      // Removal asks no status first: the stop of a stopped container must leave it to the removal.
      await raw.stop(ids[0] as string, { timeoutSeconds: 1 });
      const { plan } = await converge({});
      expect(plan.summary).toEqual({ remove: 4 });
      for (const gone of ids) expect(await seen(gone)).toBeUndefined();
      expect(state).toEqual({});
    }, 90_000);
  });
}

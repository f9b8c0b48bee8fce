import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "../support/harness.ts";
import { readPlanFile, writePlanFile } from "../../store/plan-file.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";
import { plan, type PlannedChange } from "../../engine/plan.ts";
import { runScheduled, type Steps } from "../../engine/apply-schedule.ts";
import { HostSlots } from "../../engine/host-slots.ts";
import { recreateOrder } from "../../engine/replace-order.ts";
import { asideIndex } from "../../engine/aside.ts";
import { asideName } from "../../core/aside-name.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainerConfig, HostConfiguredContainer } from "../../core/model.ts";
import type { Observation } from "../../engine/observe.ts";
import { validateContainers } from "../../core/validate.ts";
import { checkSupported } from "../../runtimes/kubelet/pod-spec.ts";

const OLD = "a".repeat(64);
const NEW = "b".repeat(64);
const AN = asideName("web", OLD);

function hcc(extra: Partial<ContainerConfig> = {}, id?: string): HostConfiguredContainer {
  return {
    container: {
      config: { name: "web", image: "busybox:1.36", ...extra },
      ...(id === undefined ? {} : { status: { id, status: "running" } }),
    },
    host: { directConfig: {} },
  };
}
const hash = (h: HostConfiguredContainer) => configHash(h.container.config, h.container.runtime);
const aside = (of: HostConfiguredContainer, status = "running") => ({
  id: OLD,
  name: asideName("web", OLD),
  of: "web",
  status,
  configHash: hash(of),
});

describe("recreateOrder()", () => {
  test("recreateOrder() is start-first when the two can run at once", () => {
    expect(recreateOrder(hcc({ env: { A: "1" } }), hcc({ env: { A: "2" } }))).toEqual({ order: "start-first" });
    // Different host ports do not clash.
    expect(recreateOrder(hcc({ ports: [{ port: 80 }] }), hcc({ ports: [{ port: 81 }] })).order).toBe("start-first");
  });

  test("recreateOrder() is stop-first for a shared host port, networkMode host, a static address or CRI", () => {
    expect(recreateOrder(hcc({ ports: [{ port: 80 }] }), hcc({ ports: [{ port: 80 }], env: { A: "1" } }))).toEqual({
      order: "stop-first",
      why: "host port 80/tcp held by the old one",
    });
    expect(recreateOrder(hcc({ networkMode: "host" }), hcc({ networkMode: "host" })).why).toBe("networkMode host");
    const net = [{ name: "n", ipv4Address: "10.9.0.5" }];
    expect(recreateOrder(hcc({ networks: net }), hcc({ networks: net, env: { A: "1" } })).order).toBe("stop-first");
    const cri = { ...hcc(), container: { ...hcc().container, runtime: { kubelet: {} } } };
    expect(recreateOrder(cri, cri)).toEqual({ order: "stop-first", why: "CRI containers use the host network" });
  });

  test("recreateOrder() follows a declared recreateOrder, which is not part of the identity", () => {
    expect(recreateOrder(hcc({ ports: [{ port: 80 }] }), hcc({ ports: [{ port: 80 }], recreateOrder: "start-first" })))
      .toEqual({ order: "start-first" });
    expect(recreateOrder(hcc(), hcc({ recreateOrder: "stop-first" }))).toEqual({ order: "stop-first" });
    expect(hash(hcc({ recreateOrder: "stop-first" }))).toBe(hash(hcc()));
  });

  test("recreateOrder: a value other than the two is refused, and so is a name berth keeps for old containers", () => {
    const problems = validateContainers({
      desiredState: {
        a: hcc({ recreateOrder: "rolling" as "start-first" }),
        b: hcc({ name: `web${".berth-old-"}0123abcd` }),
      },
    });
    const text = problems.map((p) => `${p.path}: ${p.message}`).join("\n");
    expect(text).toContain("recreateOrder");
    expect(text).toContain("start-first, stop-first");
    expect(text).toContain("set aside during a recreate");
  });
});

describe("plan() of a recreate", () => {
  test("plan() says the order of a recreate, and why a stop-first one must stop first", () => {
    const free = plan({ web: hcc({ env: { A: "2" } }) }, { web: hcc({}, OLD) }, {
      web: { status: { id: OLD, status: "running" }, files: {}, mounts: {} },
    });
    expect(free.changes[0]).toMatchObject({ action: "recreate", strategy: "start-first" });
    const held = plan({ web: hcc({ ports: [{ port: 80 }], env: { A: "2" } }) }, {
      web: hcc({ ports: [{ port: 80 }] }, OLD),
    }, { web: { status: { id: OLD, status: "running" }, files: {}, mounts: {} } });
    expect(held.changes[0]).toMatchObject({ action: "recreate", strategy: "stop-first" });
    expect(held.changes[0]?.reasons).toContain("stop-first: host port 80/tcp held by the old one");
  });
});

describe("plan() of an old container set aside by an interrupted apply", () => {
  const before = hcc({ env: { V: "1" } });
  const after = hcc({ env: { V: "2" } });

  test("the new one runs as configured and is recorded: finish (the old one is removed)", () => {
    const obs: Observation = {
      status: { id: NEW, status: "running" },
      configHash: hash(after),
      aside: [aside(before)],
      files: {},
      mounts: {},
    };
    const c = plan({ web: after }, { web: hcc({ env: { V: "2" } }, NEW) }, { web: obs }).changes[0];
    expect(c).toMatchObject({ action: "finish", aside: { id: OLD, name: AN } });
    expect(c?.aside?.adopt).toBeUndefined();
    expect(c?.reasons[0]).toContain("the new one runs as configured: the old one is removed");
  });

  test("the state still records the old one, the new one holds the name and runs: finish, adopting it", () => {
    const obs: Observation = {
      status: { id: OLD, status: "running" },
      renamedTo: asideName("web", OLD),
      nameHolder: { id: NEW, status: "running", managed: true, configHash: hash(after) },
      aside: [aside(before)],
      files: {},
      mounts: {},
    };
    const c = plan({ web: after }, { web: hcc({ env: { V: "1" } }, OLD) }, { web: obs }).changes[0];
    expect(c).toMatchObject({ action: "finish", aside: { id: OLD, name: AN, adopt: NEW } });
  });

  test("killed before the new one was made: restore, then the recreate still due, in one change", () => {
    const obs: Observation = {
      status: { id: OLD, status: "exited" },
      renamedTo: asideName("web", OLD),
      aside: [aside(before, "exited")],
      files: {},
      mounts: {},
    };
    const c = plan({ web: after }, { web: hcc({ env: { V: "1" } }, OLD) }, { web: obs }).changes[0];
    expect(c).toMatchObject({
      action: "recreate",
      strategy: "start-first",
      replaces: OLD,
      aside: { id: OLD, name: AN, restoreAs: "web" },
    });
    expect(c?.reasons[0]).toContain('the old one is renamed back to "web" and started first');
  });

  test("the new one was made but does not run: restore (it is removed), then recreate", () => {
    const obs: Observation = {
      status: { id: NEW, status: "created" },
      configHash: hash(after),
      aside: [aside(before)],
      files: {},
      mounts: {},
    };
    const c = plan({ web: after }, { web: hcc({ env: { V: "2" } }, NEW) }, { web: obs }).changes[0];
    expect(c).toMatchObject({
      action: "recreate",
      replaces: OLD,
      aside: { id: OLD, name: AN, restoreAs: "web", drop: NEW },
    });
  });

  test("the desired config is the old one again: restore only", () => {
    const obs: Observation = {
      status: { id: NEW, status: "exited" },
      configHash: hash(after),
      aside: [aside(before)],
      files: {},
      mounts: {},
    };
    const c = plan({ web: before }, { web: hcc({ env: { V: "2" } }, NEW) }, { web: obs }).changes[0];
    expect(c).toMatchObject({ action: "restore", aside: { id: OLD, name: AN, restoreAs: "web", drop: NEW } });
  });

  test("a container berth did not create took the name: blocked, the old one left alone", () => {
    const obs: Observation = {
      status: { id: OLD, status: "running" },
      renamedTo: asideName("web", OLD),
      nameHolder: { id: NEW, status: "running", managed: false },
      aside: [aside(before)],
      files: {},
      mounts: {},
    };
    const c = plan({ web: after }, { web: hcc({ env: { V: "1" } }, OLD) }, { web: obs }).changes[0];
    expect(c?.action).toBe("blocked");
  });

  test("a name no longer desired: removed together with its old container", () => {
    const obs: Observation = { status: { id: NEW, status: "running" }, aside: [aside(before)], files: {}, mounts: {} };
    const c = plan({}, { web: hcc({}, NEW) }, { web: obs }).changes[0];
    expect(c).toMatchObject({ action: "remove", replaces: NEW, aside: { id: OLD, name: AN } });
  });

  test("asideIndex() finds old containers by their berth.name label and reserved name only", () => {
    const labels = { "berth.managed": "true", "berth.name": "web", "berth.config-hash": "h" };
    const index = asideIndex([
      { id: OLD, name: asideName("web", OLD), status: "running", image: "x", labels },
      { id: NEW, name: "web", status: "running", image: "x", labels },
      { id: "c".repeat(64), name: "web.berth-old-zz", status: "running", image: "x", labels },
      { id: "d".repeat(64), name: asideName("api", OLD), status: "running", image: "x", labels },
    ]);
    expect([...index.keys()]).toEqual(["web"]);
    expect(index.get("web")).toEqual([{
      id: OLD,
      name: asideName("web", OLD),
      of: "web",
      status: "running",
      configHash: "h",
    }]);
  });
});

describe("a saved plan with a recreate's order and an old container set aside", () => {
  test("writePlanFile() and readPlanFile() keep strategy and aside; a wrong strategy is refused", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-plan-")), "plan.json");
    const change = {
      name: "web",
      action: "recreate" as const,
      host: "local",
      reasons: [],
      diff: [],
      files: [],
      directories: [],
      replaces: OLD,
      strategy: "start-first" as const,
      aside: { id: OLD, name: asideName("web", OLD), restoreAs: "web", drop: NEW },
    };
    const saved: PlanWithBasis = {
      changes: [change],
      summary: { recreate: 1 },
      empty: false,
      basis: { state: "5".repeat(64), desired: "d".repeat(64), observed: {} },
    };
    await writePlanFile(file, saved);
    expect((await readPlanFile(file)).plan).toEqual(saved);
    writeFileSync(file, readFileSync(file, "utf8").replace('"start-first"', '"rolling"'));
    await expect(readPlanFile(file)).rejects.toThrow("strategy: expected one of start-first, stop-first");
  });
});

describe("recreateOrder on CRI", () => {
  test("checkSupported() takes both orders (a recreate runs a new sandbox beside the old one)", () => {
    expect(() => checkSupported({ name: "x", image: "i", recreateOrder: "start-first" })).not.toThrow();
    expect(() => checkSupported({ name: "x", image: "i", recreateOrder: "stop-first" })).not.toThrow();
  });
});

describe("removals of a name with an old container set aside", () => {
  const DROP = "c".repeat(64);
  const removedBy = async (c: PlannedChange, want?: HostConfiguredContainer) => {
    const removed: string[] = [];
    const steps: Steps = {
      run: async (_c, step) => (await step(), true),
      fail: () => {},
      skip: () => {},
      remove: (_name, _hcc, id) => Promise.resolve(void removed.push(id)),
      create: () => Promise.resolve(),
      change: () => Promise.resolve(),
    };
    await runScheduled([c], want === undefined ? {} : { web: want }, { web: hcc({}, NEW) }, steps, {
      hosts: 1,
      slots: new HostSlots(1),
    });
    return { removed };
  };
  const base = { name: "web", host: "local", reasons: [], diff: [], files: [], directories: [] };

  test("a removal takes the old one set aside too", async () => {
    const { removed } = await removedBy({ ...base, action: "remove", replaces: NEW, aside: { id: OLD, name: AN } });
    expect(removed).toEqual([NEW, OLD]);
  });

  test("a move's removal takes the old one set aside and an unfinished new one too, each once", async () => {
    const want = { ...hcc(), host: { sshConfig: { address: "10.0.0.9", port: 22, user: "root" } } };
    const { removed } = await removedBy({
      ...base,
      action: "recreate",
      host: "10.0.0.9",
      fromHost: "local",
      replaces: OLD,
      aside: { id: OLD, name: AN, restoreAs: "web", drop: DROP },
    }, want);
    expect(removed).toEqual([OLD, DROP]);
  });
});

import { describe, expect, test } from "../support/harness.ts";
import { configFromDocument } from "../../core/config.ts";
import { ValidationError } from "../../core/problem.ts";
import { findCycle } from "../../core/depends-on.ts";
import { validateContainers } from "../../core/validate.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { planRollout, withRolloutOf } from "../../engine/rollout.ts";
import { readPlanFile, writePlanFile } from "../../store/plan-file.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Plan, PlannedChange } from "../../engine/plan.ts";
import { runScheduled, type Steps } from "../../engine/apply-schedule.ts";
import { HostSlots } from "../../engine/host-slots.ts";
import { BerthError } from "../../core/errors.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { publicPlan } from "../../cli/json-output.ts";
import { formatPlan, styleFor } from "../../cli/output.ts";
import { parseBatch, rolloutOf } from "../../cli/rollout.ts";

const HOSTS = {
  n1: { ssh: { address: "10.0.0.1" } },
  n2: { ssh: { address: "10.0.0.2" } },
  n3: { ssh: { address: "10.0.0.3" } },
  n4: { ssh: { address: "10.0.0.4" } },
};

function problemsOf(doc: unknown): Array<{ path: string; message: string }> {
  try {
    configFromDocument(doc, "config.yaml", { env: {} });
    return [];
  } catch (err) {
    if (err instanceof ValidationError) return err.problems;
    throw err;
  }
}

describe("rollout: config", () => {
  test("rollout: reads batch and pause, with the hosts in the order of hosts:", () => {
    const config = configFromDocument(
      {
        rollout: { batch: "50%", pause: "1m30s" },
        hosts: { n3: HOSTS.n3, n1: HOSTS.n1 },
        containers: { a: { host: "n1", image: "busybox" } },
      },
      "config.yaml",
      { env: {} },
    );
    expect(config.rollout).toEqual({ batch: "50%", pauseMs: 90_000, hostOrder: ["10.0.0.3", "10.0.0.1"] });
  });

  test("rollout: one host per batch and no pause unless set; none when not declared", () => {
    const doc = { hosts: { n1: HOSTS.n1 }, containers: { a: { host: "n1", image: "busybox" } } };
    expect(configFromDocument({ ...doc, rollout: {} }, "c", { env: {} }).rollout?.batch).toBe(1);
    expect(configFromDocument({ ...doc, rollout: {} }, "c", { env: {} }).rollout?.pauseMs).toBe(0);
    expect(configFromDocument(doc, "c", { env: {} }).rollout).toBeUndefined();
  });

  test("rollout: refuses batch sizes and pauses that are not one, naming the field", () => {
    const doc = (rollout: unknown) => ({
      rollout,
      hosts: { n1: HOSTS.n1 },
      containers: { a: { host: "n1", image: "busybox" } },
    });
    for (const batch of [0, -1, 1.5, "0%", "150%", "abc", true]) {
      const found = problemsOf(doc({ batch }));
      expect(found.map((p) => p.path)).toEqual(["rollout.batch"]);
    }
    expect(problemsOf(doc({ batch: "3" }))[0]?.message).toContain("without quotes");
    expect(problemsOf(doc({ pause: "10" }))[0]?.path).toBe("rollout.pause");
    expect(problemsOf(doc({ bacth: 1 }))[0]?.message).toContain("did you mean `batch`?");
  });

  test("dependsOn: an unknown name is refused with did-you-mean", () => {
    const found = problemsOf({
      hosts: { n1: HOSTS.n1 },
      containers: {
        database: { host: "n1", image: "busybox" },
        web: { host: "n1", image: "busybox", dependsOn: ["databse"] },
      },
    });
    expect(found).toEqual([{
      path: "containers.web.dependsOn[0]",
      message: '"databse" is not a container of this config; did you mean `database`?',
    }]);
  });

  test("dependsOn: a cycle is refused, naming it", () => {
    const found = problemsOf({
      hosts: { n1: HOSTS.n1, n2: HOSTS.n2 },
      containers: {
        a: { host: "n1", image: "busybox", dependsOn: ["b"] },
        b: { host: "n2", image: "busybox", dependsOn: ["c"] },
        c: { host: "n2", image: "busybox", dependsOn: ["a"] },
      },
    });
    expect(found.length).toBe(1);
    expect(found[0]?.path).toBe("containers.a.dependsOn");
    expect(found[0]?.message).toContain("dependency cycle a -> b -> c -> a");
  });

  test("dependsOn: itself and a name twice are refused", () => {
    const found = problemsOf({
      hosts: { n1: HOSTS.n1 },
      containers: {
        a: { host: "n1", image: "busybox", dependsOn: ["a"] },
        b: { host: "n1", image: "busybox", dependsOn: ["a", "a"] },
      },
    });
    expect(found.map((p) => p.path).sort()).toEqual(["containers.a.dependsOn[0]", "containers.b.dependsOn[1]"]);
  });

  test("dependsOn: the library's validation refuses a cycle but not a name left out of the resource", () => {
    const c = (name: string, dependsOn: string[]): HostConfiguredContainer => ({
      container: { config: { name, image: "busybox" } },
      host: { directConfig: {} },
      dependsOn,
    });
    expect(validateContainers({ desiredState: { a: c("a", ["elsewhere"]) } })).toEqual([]);
    const cycle = validateContainers({ desiredState: { a: c("a", ["b"]), b: c("b", ["a"]) } });
    expect(cycle[0]?.message).toContain("a -> b -> a");
    expect(findCycle({ a: ["b"], b: [] })).toBeUndefined();
  });
});

function change(name: string, host: string, action: PlannedChange["action"] = "create"): PlannedChange {
  return { name, action, host, reasons: [], diff: [], files: [], directories: [] };
}
function state(entries: Record<string, { host: string; dependsOn?: string[] }>): ContainersState {
  return Object.fromEntries(
    Object.entries(entries).map(([name, e]) => [name, {
      container: { config: { name, image: "busybox" } },
      host: { sshConfig: { address: e.host } },
      ...(e.dependsOn === undefined ? {} : { dependsOn: e.dependsOn }),
    }]),
  );
}
function planOf(changes: PlannedChange[]): Plan {
  return { changes, summary: {}, empty: false };
}

describe("rollout: planRollout()", () => {
  test("planRollout() puts hosts in batches in the config's host order, removals in none", () => {
    const p = planRollout(
      planOf([change("a", "h1"), change("b", "h2"), change("c", "h3"), change("old", "h1", "remove")]),
      state({ a: { host: "h1" }, b: { host: "h2" }, c: { host: "h3" } }),
      { batch: 1, pauseMs: 5000, hostOrder: ["h3", "h1", "h2"] },
    );
    expect(p.changes.map((c) => [c.name, c.batch])).toEqual([["a", 2], ["b", 3], ["c", 1], ["old", undefined]]);
    expect(p.rollout).toEqual({ batch: 1, pauseMs: 5000, batches: [["h3"], ["h1"], ["h2"]] });
  });

  test("planRollout() sizes percentage batches up, at least one host", () => {
    const four = [change("a", "h1"), change("b", "h2"), change("c", "h3"), change("d", "h4")];
    const desired = state({ a: { host: "h1" }, b: { host: "h2" }, c: { host: "h3" }, d: { host: "h4" } });
    expect(planRollout(planOf(four), desired, { batch: "50%", pauseMs: 0 }).rollout?.batches).toEqual([
      ["h1", "h2"],
      ["h3", "h4"],
    ]);
    expect(planRollout(planOf(four), desired, { batch: "10%", pauseMs: 0 }).rollout?.batches.length).toBe(4);
    expect(planRollout(planOf(four), desired, { batch: 3, pauseMs: 0 }).rollout?.batches.length).toBe(2);
  });

  test("planRollout() waits only for dependencies changed or blocked in this plan, and moves a dependent to their batch", () => {
    const p = planRollout(
      planOf([
        change("web", "h1"),
        change("db", "h2"),
        change("cache", "h1", "nothing"),
        change("queue", "h1", "blocked"),
      ]),
      state({
        web: { host: "h1", dependsOn: ["db", "cache", "queue"] },
        db: { host: "h2" },
        cache: { host: "h1" },
        queue: { host: "h1" },
      }),
      { batch: 1, pauseMs: 0, hostOrder: ["h1", "h2"] },
    );
    const web = p.changes.find((c) => c.name === "web");
    expect(web?.after).toEqual(["db", "queue"]);
    // h1's batch would come first: web joins db's batch, and the batch left empty goes.
    expect(p.changes.filter((c) => c.batch !== undefined).map((c) => [c.name, c.batch])).toEqual([["web", 1], [
      "db",
      1,
    ]]);
    expect(p.rollout?.batches).toEqual([["h1", "h2"]]);
  });

  test("planRollout() without a rollout sets only the dependencies", () => {
    const p = planRollout(
      planOf([change("a", "h1"), change("b", "h2")]),
      state({
        a: { host: "h1", dependsOn: ["b"] },
        b: { host: "h2" },
      }),
      undefined,
    );
    expect(p.rollout).toBeUndefined();
    expect(p.changes.map((c) => [c.batch, c.after])).toEqual([[undefined, ["b"]], [undefined, undefined]]);
  });
});

/** Steps that record their order and fail the names given. */
function recordingSteps(failing: string[] = [], delayMs = 5) {
  const log: string[] = [];
  const skipped: Record<string, string> = {};
  const steps: Steps = {
    run: async (c, step) => {
      log.push(`begin ${c.name}`);
      try {
        await step();
        log.push(`done ${c.name}`);
        return true;
      } catch {
        log.push(`failed ${c.name}`);
        return false;
      }
    },
    fail: (c) => void log.push(`failed ${c.name}`),
    skip: (c, error) => void (skipped[c.name] = error.message),
    remove: async () => {},
    create: async () => {},
    change: async (c) => {
      await new Promise((r) => setTimeout(r, delayMs));
      if (failing.includes(c.name)) throw new BerthError("ENGINE", "boom");
    },
  };
  return { log, skipped, steps };
}
const CONCURRENCY = { hosts: 8, slots: new HostSlots(4) };

describe("rollout: runScheduled()", () => {
  test("runScheduled() runs batch after batch, with the pause between", async () => {
    const desired = state({ a: { host: "h1" }, b: { host: "h2" }, c: { host: "h3" } });
    const work = planRollout(planOf([change("a", "h1"), change("b", "h2"), change("c", "h3")]), desired, {
      batch: 1,
      pauseMs: 0,
      hostOrder: ["h2", "h3", "h1"],
    }).changes;
    const { log, steps } = recordingSteps();
    const batches: number[] = [];
    const started = performance.now();
    await runScheduled(work, desired, {}, steps, CONCURRENCY, {
      pauseMs: 30,
      onBatch: (b) => batches.push(b.number),
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(log).toEqual(["begin b", "done b", "begin c", "done c", "begin a", "done a"]);
    expect(batches).toEqual([1, 2, 3]);
  });

  test("runScheduled() stops at the first batch with a failure and skips the rest, naming the host", async () => {
    const desired = state({ a: { host: "h1" }, b: { host: "h2" }, c: { host: "h3" } });
    const work = planRollout(planOf([change("a", "h1"), change("b", "h2"), change("c", "h3")]), desired, {
      batch: 1,
      pauseMs: 0,
    }).changes;
    const { log, skipped, steps } = recordingSteps(["a"]);
    await runScheduled(work, desired, {}, steps, CONCURRENCY);
    expect(log).toEqual(["begin a", "failed a"]);
    expect(skipped).toEqual({
      b: "not started: the rollout stopped after a failure on host h1",
      c: "not started: the rollout stopped after a failure on host h1",
    });
  });

  test("runScheduled() counts a change that failed before it (its pull) as a failure of its batch", async () => {
    const desired = state({ a: { host: "h1" }, b: { host: "h2" } });
    const work = planRollout(planOf([change("a", "h1"), change("b", "h2")]), desired, { batch: 1, pauseMs: 0 })
      .changes;
    const { log, skipped, steps } = recordingSteps();
    await runScheduled(work, desired, {}, steps, CONCURRENCY, { failed: new Set(["a"]) });
    expect(log).toEqual([]);
    expect(Object.keys(skipped)).toEqual(["b"]);
  });

  test("runScheduled() starts a dependent after its dependency on another host, and skips it when that failed", async () => {
    const desired = state({ web: { host: "h1", dependsOn: ["db"] }, db: { host: "h2" }, api: { host: "h1" } });
    const work = planRollout(
      planOf([change("api", "h1"), change("db", "h2"), change("web", "h1")]),
      desired,
      undefined,
    ).changes;
    const ok = recordingSteps([], 20);
    await runScheduled(work, desired, {}, ok.steps, CONCURRENCY);
    expect(ok.log.indexOf("done db")).toBeLessThan(ok.log.indexOf("begin web"));
    expect(ok.log.indexOf("begin api")).toBeLessThan(ok.log.indexOf("done db"));

    const bad = recordingSteps(["db"]);
    await runScheduled(work, desired, {}, bad.steps, CONCURRENCY);
    expect(bad.skipped).toEqual({ web: 'not started: its dependency "db" failed' });
    expect(bad.log).toContain("done api");
  });

  test("runScheduled() skips changes whose dependencies wait on each other instead of hanging", async () => {
    const desired = state({ a: { host: "h1", dependsOn: ["b"] }, b: { host: "h2", dependsOn: ["a"] } });
    const work = planRollout(planOf([change("a", "h1"), change("b", "h2")]), desired, undefined).changes;
    const { log, skipped, steps } = recordingSteps();
    await runScheduled(work, desired, {}, steps, CONCURRENCY);
    expect(log).toEqual([]);
    expect(skipped.a).toContain("a dependency cycle");
  });
});

describe("rollout: output", () => {
  const desired = state({ web: { host: "h1", dependsOn: ["db"] }, db: { host: "h2" } });
  const p = planRollout(planOf([change("db", "h2"), change("web", "h1"), change("old", "h1", "remove")]), desired, {
    batch: "50%",
    pauseMs: 10_000,
    hostOrder: ["h2", "h1"],
  });

  test("the plan shows each change's batch and dependencies, and a line per batch", () => {
    const text = formatPlan(p, styleFor({ isTTY: false }, {}));
    expect(text).toContain("+ web create on h1 (batch 2, after db)");
    expect(text).toContain("+ db create on h2 (batch 1)");
    expect(text).toContain(
      "Rollout in 2 batches of 50%, 10s pause between batches, stopping at the first batch with a failure; removals first, on every host:",
    );
    expect(text).toContain("  batch 1: h2\n  batch 2: h1");
  });

  test("--json's plan carries batches, dependencies and the hosts' names, as schema/output.schema.json says", () => {
    const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");
    const schema = JSON.parse(readFileSync(join(root, "schema", "output.schema.json"), "utf8"));
    const json = JSON.parse(JSON.stringify(publicPlan({ ...p, basis: {} as never }, (h) => `name-${h}`)));
    expect(schemaErrors(inlineRefs({ $ref: "#/$defs/plan" }, schema), json)).toEqual([]);
    expect(json.rollout).toEqual({
      batch: "50%",
      pauseMs: 10_000,
      batches: [["h2"], ["h1"]],
      batchHostNames: [["name-h2"], ["name-h1"]],
    });
    expect(json.changes[1].after).toEqual(["db"]);
  });
});

describe("rollout: saved plans", () => {
  const desired = state({ web: { host: "h1", dependsOn: ["db"] }, db: { host: "h2" } });
  const saved = planRollout(planOf([change("db", "h2"), change("web", "h1")]), desired, {
    batch: 1,
    pauseMs: 2000,
    hostOrder: ["h2", "h1"],
  });

  test("a saved plan keeps its batches, dependencies and rollout through its file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-rollout-plan-"));
    try {
      const basis = { state: "0".repeat(64), desired: "0".repeat(64), observed: {} };
      await writePlanFile(join(dir, "p.json"), { ...saved, basis });
      const read = await readPlanFile(join(dir, "p.json"));
      expect(read.plan.rollout).toEqual(saved.rollout);
      expect(read.plan.changes.map((c) => [c.batch, c.after])).toEqual([[1, undefined], [2, ["db"]]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("withRolloutOf() applies a fresh plan in the saved plan's order, also when the fresh one has none", () => {
    const fresh = planRollout(planOf([change("db", "h2"), change("web", "h1")]), state({}), undefined);
    const applied = withRolloutOf(fresh, saved);
    expect(applied.rollout).toEqual(saved.rollout);
    expect(applied.changes.map((c) => [c.name, c.batch, c.after])).toEqual([["db", 1, undefined], ["web", 2, ["db"]]]);
    const unbatched = withRolloutOf(saved, fresh);
    expect(unbatched.rollout).toBeUndefined();
    expect(unbatched.changes.every((c) => c.batch === undefined && c.after === undefined)).toBe(true);
  });
});

describe("rollout: CLI flags", () => {
  const config = { desiredState: {} };
  const names = new Map([["10.0.0.2", "n2"], ["10.0.0.1", "n1"]]);

  test("--batch and --pause override the config's rollout:, either alone starts one, none keeps all at once", () => {
    const declared = { ...config, rollout: { batch: 2, pauseMs: 5000, hostOrder: ["10.0.0.1"] } };
    expect(rolloutOf(declared, names, { batch: "50%" })).toEqual({
      batch: "50%",
      pauseMs: 5000,
      hostOrder: ["10.0.0.1"],
    });
    expect(rolloutOf(config, names, { pause: 1000 })).toEqual({
      batch: 1,
      pauseMs: 1000,
      hostOrder: ["10.0.0.2", "10.0.0.1"],
    });
    expect(rolloutOf(config, names, {})).toBeUndefined();
  });

  test("--batch takes a number of hosts or a percentage, and names what is wrong otherwise", () => {
    expect(parseBatch("3")).toBe(3);
    expect(parseBatch("25%")).toBe("25%");
    for (const bad of ["0", "0%", "101%", "x", "-1"]) {
      expect(() => parseBatch(bad)).toThrow(/batch size|at least 1|percentage/);
    }
  });
});

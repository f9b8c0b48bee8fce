import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "../support/harness.ts";
import { readPlanFile, writePlanFile } from "../../store/plan-file.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";

const plan: PlanWithBasis = {
  changes: [],
  summary: {},
  empty: true,
  basis: { state: "5".repeat(64), desired: "d".repeat(64), observed: {} },
};

describe("plan file", () => {
  test("writePlanFile() saves a plan with mode 0600 that readPlanFile() gives back", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-plan-")), "plan.json");
    await writePlanFile(file, plan);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = await readPlanFile(file);
    expect(saved.kind).toBe("berth-plan");
    expect(saved.plan).toEqual(plan);
  });
  test("readPlanFile() refuses a JSON file that is not a saved plan, naming it", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-plan-")), "other.json");
    writeFileSync(file, JSON.stringify({ kind: "berth-plan", version: 2, plan }));
    await expect(readPlanFile(file)).rejects.toThrow(`"${file}" is not a plan saved by "berth plan --out"`);
  });
  test("readPlanFile() refuses bytes that are not JSON", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-plan-")), "broken.json");
    writeFileSync(file, '{"kind": ');
    await expect(readPlanFile(file)).rejects.toThrow(`Cannot read plan file "${file}"`);
  });
});

describe("plan file, forged or cut short", () => {
  const real = async () => {
    const file = join(mkdtempSync(join(tmpdir(), "berth-plan-")), "plan.json");
    await writePlanFile(file, {
      changes: [{
        name: "web",
        action: "create",
        host: "local",
        reasons: ["new in the desired state"],
        diff: [{ op: "~", path: "env.A", before: "1", after: "2" }],
        files: [],
        directories: [],
      }],
      summary: { create: 1 },
      empty: false,
      basis: {
        state: "a".repeat(64),
        desired: "b".repeat(64),
        observed: { web: { status: "absent", hash: "c".repeat(64) } },
      },
    });
    return file;
  };

  test("a saved plan with every field right is read back", async () => {
    expect((await readPlanFile(await real())).plan.changes[0]?.name).toBe("web");
  });

  test("each field wrong, missing or added is refused with its path, never an unexpected error", async () => {
    // deno-lint-ignore no-explicit-any -- the point is to write what the types forbid
    const cases: Array<[(doc: any) => void, string]> = [
      [(d) => delete d.plan.basis.observed, "plan.basis.observed: missing"],
      [(d) => (d.plan.basis.observed = null), "plan.basis.observed: expected a mapping, got null"],
      [(d) => (d.plan.basis.state = "x"), 'plan.basis.state: expected a SHA-256 hash, got "x"'],
      [(d) => (d.plan.changes[0].action = "explode"), "plan.changes[0].action: expected one of create"],
      [(d) => (d.plan.changes[0].reasons = "r"), 'plan.changes[0].reasons: expected a list, got "r"'],
      [(d) => (d.plan.changes[0].extra = 1), "plan.changes[0].extra: unknown key"],
      [(d) => (d.plan.summary.create = -1), "plan.summary.create: expected a count, got -1"],
      [(d) => (d.plan.summary.explode = 1), "plan.summary.explode: unknown key"],
      [(d) => (d.plan.empty = "no"), 'plan.empty: expected true or false, got "no"'],
      [(d) => delete d.createdAt, "createdAt: missing"],
      [(d) => delete d.plan, "plan: missing"],
    ];
    for (const [forge, message] of cases) {
      const file = await real();
      const doc = JSON.parse(readFileSync(file, "utf8"));
      forge(doc);
      writeFileSync(file, JSON.stringify(doc));
      await expect(readPlanFile(file)).rejects.toThrow(message);
    }
  });

  test("a plan file cut short at any length is refused as unreadable or not a plan", async () => {
    const file = await real();
    const whole = readFileSync(file, "utf8");
    for (let n = 0; n < whole.length; n += 7) {
      writeFileSync(file, whole.slice(0, n));
      await expect(readPlanFile(file)).rejects.toThrow(/Cannot read plan file|is not a plan saved by/);
    }
  });
});

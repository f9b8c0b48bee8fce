import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "../support/harness.ts";
import { readPlanFile, writePlanFile } from "../../store/plan-file.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";

const plan: PlanWithBasis = {
  changes: [],
  summary: {},
  empty: true,
  basis: { state: "s", desired: "d", observed: {} },
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

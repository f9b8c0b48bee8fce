/**
 * The plan file (`berth plan --out`, like Terraform's planfile): a plan with
 * the basis it was made on, written with mode 0600, read back strictly.
 *
 * @module
 */
import { open, readFile } from "node:fs/promises";
import { BerthError } from "../core/errors.ts";
import type { PlanWithBasis } from "../engine/containers.ts";

/** What a plan file holds. */
export interface SavedPlan {
  kind: "berth-plan";
  version: 1;
  createdAt: string;
  plan: PlanWithBasis;
}

/**
 * Saves `plan` to `path` (mode 0600, also when the file existed). Sensitive
 * values are in it only as digests, as in the plan itself.
 *
 * @throws {Error} When the file cannot be written.
 */
export async function writePlanFile(path: string, plan: PlanWithBasis): Promise<void> {
  const saved: SavedPlan = { kind: "berth-plan", version: 1, createdAt: new Date().toISOString(), plan };
  const file = await open(path, "w", 0o600);
  try {
    // The mode given to open() applies to a new file only: an existing one is made 0600 before anything is written.
    await file.chmod(0o600);
    await file.writeFile(`${JSON.stringify(saved, null, 2)}\n`);
  } finally {
    await file.close();
  }
}

/**
 * Reads a plan saved by {@link writePlanFile}.
 *
 * @throws {BerthError} `VALIDATION` when the file cannot be read or is not a saved plan.
 */
export async function readPlanFile(path: string): Promise<SavedPlan> {
  let saved: Partial<SavedPlan>;
  try {
    saved = JSON.parse(await readFile(path, "utf8")) as Partial<SavedPlan>;
  } catch (err) {
    throw new BerthError("VALIDATION", `Cannot read plan file "${path}": ${(err as Error).message}`, { cause: err });
  }
  if (saved.kind !== "berth-plan" || saved.version !== 1 || saved.plan?.basis === undefined) {
    throw new BerthError("VALIDATION", `"${path}" is not a plan saved by "berth plan --out"`);
  }
  return saved as SavedPlan;
}

/**
 * The plan file (`berth plan --out`, like Terraform's planfile): a plan with
 * the basis it was made on, written with mode 0600, read back strictly.
 *
 * @module
 */
import { open, readFile } from "node:fs/promises";
import { BerthError } from "../core/errors.ts";
import { isSealed } from "../core/sensitive.ts";
import { decodeUtf8 } from "../core/serialize.ts";
import type { PlanWithBasis } from "../engine/containers.ts";

/** What a plan file holds. */
export interface SavedPlan {
  /** Marks the file as a berth plan. */
  kind: "berth-plan";
  /** Version of the plan file's format. */
  version: 1;
  /** When the plan was saved, an ISO 8601 UTC time. */
  createdAt: string;
  /** The plan, with the basis it was made on. */
  plan: PlanWithBasis;
}

/**
 * Saves `plan` to `path` (mode 0600, also when the file existed). Sensitive
 * values are in it only as digests, as in the plan itself.
 *
 * @throws {Error} When the file cannot be written.
 */
export async function writePlanFile(path: string, plan: PlanWithBasis): Promise<void> {
  // The basis is read by name: a plan made by ContainersResource makes it on first read, not enumerable.
  const saved: SavedPlan = {
    kind: "berth-plan",
    version: 1,
    createdAt: new Date().toISOString(),
    plan: { ...plan, basis: plan.basis },
  };
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
  let saved: unknown;
  try {
    saved = JSON.parse(decodeUtf8(await readFile(path), path));
  } catch (err) {
    throw new BerthError("VALIDATION", `Cannot read plan file "${path}": ${(err as Error).message}`, { cause: err });
  }
  const top = saved as Partial<SavedPlan> | null;
  if (!isObject(top) || top.kind !== "berth-plan" || top.version !== 1) {
    throw new BerthError("VALIDATION", `"${path}" is not a plan saved by "berth plan --out"`);
  }
  const problems: string[] = [];
  savedPlanShape(top, "", problems);
  if (problems.length > 0) {
    throw new BerthError(
      "VALIDATION",
      `"${path}" is not a plan saved by "berth plan --out" (changed or cut short?): make a new plan:\n${
        problems.slice(0, 10).map((p) => `  ${p}`).join("\n")
      }${problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : ""}`,
    );
  }
  return top as SavedPlan;
}

// ---- the shape of a plan file, checked as strictly as a config --------------------

type Shape = (value: unknown, path: string, problems: string[]) => void;

const ACTIONS = [
  "create",
  "recreate",
  "update",
  "update-files",
  "start",
  "remove",
  "forget",
  "blocked",
  "finish",
  "restore",
  "nothing",
];
const SHA256 = /^[0-9a-f]{64}$/;

const text: Shape = (v, path, problems) => {
  if (typeof v !== "string") problems.push(`${path}: expected a string, got ${describe(v)}`);
};
const hash: Shape = (v, path, problems) => {
  if (typeof v !== "string" || !SHA256.test(v)) problems.push(`${path}: expected a SHA-256 hash, got ${describe(v)}`);
};
const list = (item: Shape): Shape => (v, path, problems) => {
  if (!Array.isArray(v)) return void problems.push(`${path}: expected a list, got ${describe(v)}`);
  v.forEach((x, i) => item(x, `${path}[${i}]`, problems));
};
const oneOf = (values: string[]): Shape => (v, path, problems) => {
  if (typeof v !== "string" || !values.includes(v)) {
    problems.push(`${path}: expected one of ${values.join(", ")}, got ${describe(v)}`);
  }
};
const mapOf = (value: Shape, keys?: string[]): Shape => (v, path, problems) => {
  if (!isObject(v)) return void problems.push(`${path}: expected a mapping, got ${describe(v)}`);
  for (const [k, x] of Object.entries(v)) {
    if (keys !== undefined && !keys.includes(k)) problems.push(`${at(path, k)}: unknown key`);
    else value(x, at(path, k), problems);
  }
};
const fields =
  (required: Record<string, Shape>, optional: Record<string, Shape> = {}): Shape => (v, path, problems) => {
    if (!isObject(v)) return void problems.push(`${path}: expected a mapping, got ${describe(v)}`);
    for (const [k, check] of Object.entries(required)) {
      if (!(k in v)) problems.push(`${at(path, k)}: missing`);
      else check(v[k], at(path, k), problems);
    }
    for (const [k, x] of Object.entries(v)) {
      if (k in required) continue;
      const check = optional[k];
      if (check === undefined) problems.push(`${at(path, k)}: unknown key`);
      else check(x, at(path, k), problems);
    }
  };

const sensitiveFlag: Shape = (v, path, problems) => {
  if (v !== true) problems.push(`${path}: expected true, got ${describe(v)}`);
};
/** A sensitive value as a plan holds it: its digest (core/sensitive.ts), never the value. */
const digest: Shape = (v, path, problems) => {
  if (!isSealed(v)) problems.push(`${path}: expected a digest (sensitive:hmac-sha256:...), got ${describe(v)}`);
};
const diffLine = fields({ op: oneOf(["+", "-", "~"]), path: text }, {
  before: text,
  after: text,
  sensitive: sensitiveFlag,
});
const change = fields(
  {
    name: text,
    action: oneOf(ACTIONS),
    host: text,
    reasons: list(text),
    diff: list(diffLine),
    files: list(text),
    directories: list(text),
  },
  {
    fromHost: text,
    replaces: text,
    gate: text,
    strategy: oneOf(["start-first", "stop-first"]),
    aside: fields({ id: text, name: text }, { restoreAs: text, drop: text, adopt: text }),
    batch: (v, p, found) => count(v, p, found),
    after: list(text),
  },
);
const count: Shape = (v, path, problems) => {
  if (!Number.isInteger(v) || (v as number) < 0) problems.push(`${path}: expected a count, got ${describe(v)}`);
};
const batchSize: Shape = (v, path, problems) => (typeof v === "number" ? count : text)(v, path, problems);
const rollout = fields({ batch: batchSize, pauseMs: count, batches: list(list(text)) });
const flag: Shape = (v, path, problems) => {
  if (typeof v !== "boolean") problems.push(`${path}: expected true or false, got ${describe(v)}`);
};
const savedPlanShape = fields({
  kind: text,
  version: count,
  createdAt: text,
  plan: fields({
    changes: list(change),
    summary: mapOf(count, ACTIONS),
    empty: flag,
    basis: fields({ state: hash, desired: hash, observed: mapOf(fields({ status: text, hash })) }, {
      secrets: mapOf(digest),
    }),
  }, { volumes: list(fields({ name: text, host: text, via: text, warning: text })), rollout }),
});

function at(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

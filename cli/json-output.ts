/**
 * The `--json` contract for scripts: every object berth prints with `--json`
 * carries `formatVersion` (raised only when a field changes meaning or goes),
 * and diff values are JSON values, not JSON inside strings.
 *
 * @module
 */
import type { ApplyEvent, ApplyResult } from "../engine/apply.ts";
import type { PlanWithBasis } from "../engine/containers.ts";
import type { DiffLine } from "../engine/diff.ts";
import type { CliIO } from "./io.ts";

/** The version of berth's `--json` output shapes. */
export const FORMAT_VERSION = 1;

/** Prints `body` as one JSON document with `formatVersion` first. */
export function writeJson(io: CliIO, body: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ formatVersion: FORMAT_VERSION, ...body }, null, 2)}\n`);
}

/**
 * Prints `body` as one line with `formatVersion` first: a line of the NDJSON stream of `apply --json`
 * and `destroy --json` (a `plan` line, then one line per event, then a `summary` line).
 */
export function writeJsonLine(io: CliIO, body: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ formatVersion: FORMAT_VERSION, ...body })}\n`);
}

/**
 * An apply event as a line of the stream: its `type`, the change it is about (name, action, host and
 * host name), then its other fields as they are, an error as `{ code, message }`. Generic on purpose:
 * an event type added to the engine flows through without a change here.
 */
export function publicEvent(event: ApplyEvent, hostName: (label: string) => string): Record<string, unknown> {
  const { type, change, ...rest } = event;
  const fields = Object.entries(rest as Record<string, unknown>).map(([k, v]) => [k, jsonValue(v)]);
  return {
    type,
    name: change.name,
    action: change.action,
    host: change.host,
    hostName: hostName(change.host),
    ...(change.fromHost === undefined ? {} : { fromHost: change.fromHost, fromHostName: hostName(change.fromHost) }),
    ...Object.fromEntries(fields),
  };
}

/** An error as data (`JSON.stringify` would give `{}`); anything else as it is. */
function jsonValue(v: unknown): unknown {
  if (!(v instanceof Error)) return v;
  return { code: (v as { code?: unknown }).code ?? "UNEXPECTED", message: v.message };
}

/** The error object `--json` prints on stdout when a command fails (the message also goes to stderr). */
export function jsonError(code: string, message: string): Record<string, unknown> {
  return { ok: false, error: { code, message } };
}

/** A plan as data: without the basis kept for `apply PLAN`, diff values parsed. */
export function publicPlan(plan: PlanWithBasis, hostName: (label: string) => string): unknown {
  // A spread, not a destructuring: reading `basis` by name would make a fresh plan's (a hash of all it was made from).
  const rest: Omit<PlanWithBasis, "basis"> & { basis?: unknown } = { ...plan };
  delete rest.basis;
  return {
    ...rest,
    changes: rest.changes.map((c) => ({
      ...c,
      hostName: hostName(c.host),
      ...(c.fromHost === undefined ? {} : { fromHostName: hostName(c.fromHost) }),
      diff: c.diff.map(jsonDiff),
    })),
    ...(rest.rollout === undefined ? {} : {
      rollout: { ...rest.rollout, batchHostNames: rest.rollout.batches.map((b) => b.map(hostName)) },
    }),
  };
}

/** An apply's outcome as data. */
export function publicResult(result: ApplyResult, hostName: (label: string) => string): unknown {
  return {
    failed: result.failed,
    blocked: result.blocked,
    interrupted: result.interrupted,
    results: result.results.map((r) => ({
      ...r,
      hostName: hostName(r.host),
      error: r.error === undefined ? undefined : jsonValue(r.error),
    })),
  };
}

/**
 * The plan's diff shows config values as JSON text (`"3.5"`, `["a"]`); in JSON output they become the
 * values themselves. Host addresses and config-file lines are plain text and stay strings.
 */
export function jsonDiff(d: DiffLine): { op: DiffLine["op"]; path: string; before?: unknown; after?: unknown } {
  const plain = d.path === "host" || d.path.startsWith("file ");
  const value = (s: string | undefined) => {
    if (s === undefined || plain) return s;
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return s; // a redacted or summarised value
    }
  };
  return {
    op: d.op,
    path: d.path,
    ...(d.before === undefined ? {} : { before: value(d.before) }),
    ...(d.after === undefined ? {} : { after: value(d.after) }),
  };
}

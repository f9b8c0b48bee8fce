/**
 * The CLI's side of a rollout: `--batch N|P%` and `--pause DURATION` over
 * the config's `rollout:`, and how batches and dependencies show in a plan.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";
import { parseDuration } from "../core/duration.ts";
import { BerthError } from "../core/errors.ts";
import { batchProblem, type BatchSize, type Rollout } from "../core/rollout.ts";
import type { Plan, PlannedChange } from "../engine/plan.ts";
import type { BatchStart } from "../engine/apply-schedule.ts";
import type { BerthConfig } from "../core/config.ts";
import type { HostNames } from "./host-names.ts";
import type { Style } from "./output.ts";

/** `--batch` and `--pause` as parsed. */
export interface RolloutFlags {
  batch?: BatchSize;
  /** Milliseconds. */
  pause?: number;
}

/** Parses `--batch`: a number of hosts (`1`) or a percentage (`25%`). */
export function parseBatch(text: string): BatchSize {
  const value = /^\d+$/.test(text) ? Number(text) : text;
  const problem = batchProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value as BatchSize;
}

/** Parses `--pause`: a duration such as `10s`. */
export function parsePause(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/**
 * The rollout of a run: the config's `rollout:` with `--batch`/`--pause` over
 * it (either flag alone starts a rollout, one host per batch unless `--batch`
 * says otherwise); none when neither declares one.
 */
export function rolloutOf(config: BerthConfig, hostNames: HostNames, flags: RolloutFlags): Rollout | undefined {
  if (config.rollout === undefined && flags.batch === undefined && flags.pause === undefined) return undefined;
  return {
    batch: flags.batch ?? config.rollout?.batch ?? 1,
    pauseMs: flags.pause ?? config.rollout?.pauseMs ?? 0,
    hostOrder: config.rollout?.hostOrder ?? [...hostNames.keys()],
  };
}

/** `--batch`/`--pause` with a saved plan: refused, the plan keeps the batches it was reviewed with. */
export function refuseRolloutFlags(flags: RolloutFlags): void {
  if (flags.batch === undefined && flags.pause === undefined) return;
  throw new BerthError(
    "VALIDATION",
    "--batch/--pause cannot be used with a saved plan: it is applied in the batches it shows; drop them, or make the plan with them",
  );
}

/** What a change waits for, for its plan line: `batch 2`, `after db`. */
export function orderNotes(c: PlannedChange): string[] {
  return [
    ...(c.batch === undefined ? [] : [`batch ${c.batch}`]),
    ...(c.after === undefined ? [] : [`after ${c.after.join(", ")}`]),
  ];
}

/** The plan's batches, one line each (hosts as the plan shows them); none without a rollout. */
export function formatBatches(plan: Plan, style: Style): string[] {
  const rollout = plan.rollout;
  if (rollout === undefined) return [];
  const pause = rollout.pauseMs > 0 && rollout.batches.length > 1
    ? `, ${rollout.pauseMs / 1000}s pause between batches`
    : "";
  const removals = plan.changes.some((c) => c.action === "remove") ? "; removals first, on every host" : "";
  return [
    style.bold(
      `Rollout in ${rollout.batches.length} batch${rollout.batches.length === 1 ? "" : "es"} of ${
        typeof rollout.batch === "number" ? `${rollout.batch} host${rollout.batch === 1 ? "" : "s"}` : rollout.batch
      }${pause}, stopping at the first batch with a failure${removals}:`,
    ),
    ...rollout.batches.map((hosts, i) => `  batch ${i + 1}: ${hosts.join(", ")}`),
  ];
}

/** `Batch 2 of 3: node2 (10.0.0.12)`, as a batch starts. */
export function formatBatchStart(batch: BatchStart, show: (label: string) => string, style: Style): string {
  return style.bold(`Batch ${batch.number} of ${batch.of}: ${batch.hosts.map(show).join(", ")}`);
}

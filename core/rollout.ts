/**
 * The rollout of a config's changes across hosts: `rollout: { batch: 1 |
 * "25%", pause: 10s }` at the top level, `--batch` and `--pause` on the CLI.
 * Hosts with changes are split into batches in the config's host order; a
 * batch runs, then the pause, then the next; the first batch with a failure
 * stops the rollout (engine/apply-schedule.ts).
 *
 * @module
 */
import { parseDuration } from "./duration.ts";
import { durationRule } from "./rules.ts";
import { type Check, describe, type Fields, mapping, quote, report, string, withSchema } from "./shape.ts";

/** How many hosts a batch has: a number of hosts, or a percentage of the hosts with changes (`"25%"`). */
export type BatchSize = number | `${number}%`;

/** A rollout as the engine takes it. */
export interface Rollout {
  /** Hosts per batch. */
  batch: BatchSize;
  /** Milliseconds between two batches. */
  pauseMs: number;
  /** Host labels (`local`, an address) in the order batches take them: the config's `hosts:`; others after, by label. */
  hostOrder?: string[];
}

const PERCENT = /^([1-9]\d*)%$/;

/** What is wrong with a batch size (`3`, `"25%"`), or `undefined` when it is one. */
export function batchProblem(value: unknown): string | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 1
      ? undefined
      : `expected a whole number of hosts, at least 1, got ${value}`;
  }
  if (typeof value === "string") {
    const percent = PERCENT.exec(value);
    if (percent !== null && Number(percent[1]) <= 100) return undefined;
    if (/^[1-9]\d*$/.test(value)) return `write ${value} without quotes, or as a percentage such as "25%"`;
    return `${quote(value)} is not a batch size: use a number of hosts (1) or a percentage from 1% to 100% ("25%")`;
  }
  return `expected a number of hosts (1) or a percentage ("25%"), got ${describe(value)}`;
}

const batchCheck: Check = withSchema(
  (value, path, problems) => {
    const problem = batchProblem(value);
    if (problem !== undefined) report(problems, path, problem);
  },
  { anyOf: [{ type: "integer", minimum: 1 }, { type: "string", pattern: PERCENT.source }] },
);

const ROLLOUT_FIELDS: Fields = {
  batch: {
    check: batchCheck,
    description: 'Hosts per batch: a number (1, the default), or a percentage of the hosts with changes ("25%").',
  },
  pause: {
    check: string(durationRule),
    description: "Wait between two batches, a duration such as 10s; none when not set.",
  },
};

/** The check of the top-level `rollout:`. */
export const rolloutCheck: Check = mapping(ROLLOUT_FIELDS);

/** A checked `rollout:` mapping as the engine takes it: one host per batch and no pause unless set. */
export function rolloutFromDocument(raw: Record<string, unknown>, hostOrder: string[]): Rollout {
  const pause = raw.pause as string | undefined;
  return {
    batch: (raw.batch as BatchSize | undefined) ?? 1,
    pauseMs: pause === undefined ? 0 : parseDuration(pause),
    hostOrder,
  };
}

/** How many hosts go in each batch when `hosts` hosts have changes. */
export function batchHosts(batch: BatchSize, hosts: number): number {
  if (typeof batch === "number") return batch;
  return Math.max(1, Math.ceil((hosts * Number(batch.slice(0, -1))) / 100));
}

/**
 * The order of an apply: which step runs on which host's queue, every
 * host's removals before anything else, a move split into its removal on the
 * old host and its create on the new one, the rollout's batches one after
 * the other (stopping at the first batch with a failure), within a batch the
 * changes whose dependencies are done, and how many steps run at once.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../core/errors.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { hostKey } from "../core/host.ts";
import type { HostSlots } from "./host-slots.ts";
import { mapLimit } from "./limit.ts";
import type { PlannedChange } from "./plan.ts";

/** What the schedule runs: the steps, and how a change's outcome is reported. */
export interface Steps {
  /** Carries out `step` for `change` and reports it; true when it succeeded. */
  run(change: PlannedChange, step: () => Promise<void>): Promise<boolean>;
  /** Reports `change` as failed without running it. */
  fail(change: PlannedChange, error: BerthError): void;
  /** Reports `change` as not started, for the reason `error` gives (the rollout stopped, a dependency failed). */
  skip(change: PlannedChange, error: BerthError): void;
  remove(name: string, hcc: HostConfiguredContainer, id: string): Promise<void>;
  create(change: PlannedChange, want: HostConfiguredContainer): Promise<void>;
  /** Any other change on one host (create, recreate in place, start, update-files). */
  change(
    change: PlannedChange,
    want: HostConfiguredContainer,
    prev: HostConfiguredContainer | undefined,
  ): Promise<void>;
}

/** How many steps run at once. */
export interface Concurrency {
  /** Hosts worked on at once. */
  hosts: number;
  /** Steps of one host at work at once, started in order (a step waiting for its gate gives its slot back). */
  slots: HostSlots;
}

/** A batch of a rollout as it starts. */
export interface BatchStart {
  /** From 1. */
  number: number;
  /** How many batches the rollout has. */
  of: number;
  /** The labels of its hosts. */
  hosts: string[];
}

/** How the batches run. */
export interface ScheduleOptions {
  /** Milliseconds between two batches; none by default. */
  pauseMs?: number;
  /** Names of changes that failed before the schedule (their image pull): not run; their batch counts as failed. */
  failed?: ReadonlySet<string>;
  /** Ends a pause early (the steps themselves check the stop signal). */
  signal?: AbortSignal;
  /** Told as each batch of a rollout of more than one batch starts, after its pause. */
  onBatch?: (batch: BatchStart) => void;
}

type Step = () => Promise<void>;

/**
 * Runs the changes that act on hosts. Every host's removals run first (also
 * the old side of a move), so a move's create never waits on a host that has
 * not had its turn yet; a move's create runs only when its removal
 * succeeded. Then each batch (`change.batch`, 1 when unset) runs, then the
 * pause; a batch with a failed change stops the rollout: the later batches'
 * changes are skipped. Within a batch a change starts once the changes it
 * waits for (`change.after`) succeeded, and is skipped when one failed.
 *
 * @param work Changes that act on hosts (not `nothing`, `forget` or `blocked`).
 * @param current The previous state: where removed and moved containers are.
 */
export async function runScheduled(
  work: PlannedChange[],
  desired: ContainersState,
  current: ContainersState,
  steps: Steps,
  concurrency: Concurrency,
  options: ScheduleOptions = {},
): Promise<void> {
  const failed = options.failed ?? new Set<string>();
  const carried = new Set(work.map((c) => c.name));
  // name -> whether its change succeeded, once it is over: what dependents wait for.
  const outcome = new Map<string, boolean>([...failed].map((name) => [name, false]));
  const removed = new Map<string, boolean>();
  // Each host's steps in order, hosts and steps of one host at once as far as the limits allow.
  const runOnHosts = async (jobs: Array<[string, Step]>) => {
    const queues = new Map<string, Step[]>();
    for (const [key, step] of jobs) queues.set(key, [...(queues.get(key) ?? []), step]);
    await mapLimit([...queues], concurrency.hosts, ([key, queue]) => concurrency.slots.run(key, queue));
  };

  const todo = work.filter((c) => !failed.has(c.name));
  const removals: Array<[string, Step]> = [];
  for (const c of todo) {
    const prev = current[c.name] as HostConfiguredContainer;
    if (c.action === "remove") {
      removals.push([
        hostKey(prev.host),
        () =>
          steps.run(c, async () => {
            for (const id of removedIds(c)) await steps.remove(c.name, prev, id);
          }).then(() => {}),
      ]);
    } else if (c.action === "recreate" && c.fromHost !== undefined) {
      const removal: PlannedChange = { ...c, action: "remove", host: c.fromHost, reasons: [`moves to host ${c.host}`] };
      removals.push([
        hostKey(prev.host),
        async () =>
          void removed.set(
            c.name,
            await steps.run(removal, async () => {
              for (const id of removedIds(c)) await steps.remove(c.name, prev, id);
            }),
          ),
      ]);
    }
  }
  await runOnHosts(removals);

  const stepOf = (c: PlannedChange): [string, Step] => {
    const want = desired[c.name] as HostConfiguredContainer;
    const prev = current[c.name];
    if (c.action === "recreate" && c.fromHost !== undefined) {
      return [hostKey(want.host), async () => {
        if (removed.get(c.name) !== true) {
          const error = new BerthError(
            "CONFLICT",
            `not created on host ${c.host}: removing it from host ${c.fromHost} failed first`,
            { container: c.name },
          );
          steps.fail(c, error);
          outcome.set(c.name, false);
          return;
        }
        outcome.set(c.name, await steps.run(c, () => steps.create(c, want)));
      }];
    }
    return [
      hostKey(want.host),
      async () => void outcome.set(c.name, await steps.run(c, () => steps.change(c, want, prev))),
    ];
  };
  const skip = (c: PlannedChange, why: string) => {
    steps.skip(c, new BerthError("NOT_STARTED", `not started: ${why}`, { container: c.name, host: c.host }));
    outcome.set(c.name, false);
  };

  // One batch: waves of the changes whose dependencies are over.
  const runBatch = async (changes: PlannedChange[]) => {
    let pending = changes;
    while (pending.length > 0) {
      const isReady = (c: PlannedChange) => (c.after ?? []).every((d) => outcome.has(d) || !carried.has(d));
      const ready = pending.filter(isReady);
      pending = pending.filter((c) => !isReady(c));
      if (ready.length === 0) {
        const names = pending.map((c) => c.name).join(", ");
        for (const c of pending) skip(c, `its dependencies wait on each other (${names}): a dependency cycle`);
        return;
      }
      const wave: Array<[string, Step]> = [];
      for (const c of ready) {
        const blocker = (c.after ?? []).find((d) => outcome.get(d) !== true);
        if (blocker === undefined) wave.push(stepOf(c));
        else {
          skip(
            c,
            carried.has(blocker)
              ? `its dependency "${blocker}" failed`
              : `its dependency "${blocker}" is not changed in this apply (blocked)`,
          );
        }
      }
      await runOnHosts(wave);
    }
  };

  const rest = work.filter((c) => c.action !== "remove");
  const numbers = [...new Set(rest.map((c) => c.batch ?? 1))].sort((a, b) => a - b);
  let stoppedOn: string | undefined;
  for (const [index, number] of numbers.entries()) {
    const batch = rest.filter((c) => (c.batch ?? 1) === number);
    const changes = batch.filter((c) => !failed.has(c.name));
    if (stoppedOn !== undefined) {
      for (const c of changes) skip(c, `the rollout stopped after a failure on host ${stoppedOn}`);
      continue;
    }
    if (index > 0 && (options.pauseMs ?? 0) > 0) await pause(options.pauseMs as number, options.signal);
    if (numbers.length > 1) {
      options.onBatch?.({ number: index + 1, of: numbers.length, hosts: [...new Set(batch.map((c) => c.host))] });
    }
    await runBatch(changes);
    // An interrupted run is not a failed batch: the steps report the rest as interrupted.
    if (options.signal?.aborted !== true) stoppedOn = batch.find((c) => outcome.get(c.name) === false)?.host;
  }
}

/** Waits `ms`, or less when `signal` aborts (the next step then sees the stop). */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await sleep(ms, undefined, signal === undefined ? {} : { signal }).catch(() => {});
}

/**
 * The containers a removal (or a move's removal) takes away: the recorded one, and what an interrupted
 * recreate left beside it (the old one set aside, an unfinished new one: engine/aside.ts).
 */
function removedIds(c: PlannedChange): string[] {
  return [...new Set([c.replaces, c.aside?.id, c.aside?.drop].filter((id): id is string => id !== undefined))];
}

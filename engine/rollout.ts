/**
 * The plan's rollout: which batch each change runs in, and which changes of
 * the same apply each one waits for (`dependsOn`). Pure data, so the plan
 * shows exactly the order apply-schedule.ts keeps.
 *
 * @module
 */
import { batchHosts, type BatchSize, type Rollout } from "../core/rollout.ts";
import type { ContainersState } from "../core/model.ts";
import type { Plan, PlannedChange } from "./plan.ts";

/** The batches of a plan, as `Plan.rollout` shows them. */
export interface RolloutPlan {
  /** Hosts per batch, as declared. */
  batch: BatchSize;
  /** Milliseconds between two batches. */
  pauseMs: number;
  /** The host labels of each batch, in order (a change waiting for a later batch's dependency goes there). */
  batches: string[][];
}

/** Actions that are neither carried out nor waited for. */
const IDLE = new Set<PlannedChange["action"]>(["nothing", "forget", "blocked"]);

/** True for a change that creates, starts or updates a container: what batches and dependencies order. */
export function isOrdered(c: PlannedChange): boolean {
  return !IDLE.has(c.action) && c.action !== "remove";
}

/**
 * Sets each change's `after` (the dependencies it waits for: those changed
 * or blocked in this plan) and, with a rollout, its `batch` and the plan's
 * `rollout`. Hosts with changes are taken in `rollout.hostOrder`, then by
 * label; a change whose dependency is in a later batch moves to that batch.
 * Removals have no batch: they run first, on every host (apply-schedule.ts).
 */
export function planRollout(plan: Plan, desired: ContainersState, rollout: Rollout | undefined): Plan {
  const byName = new Map(plan.changes.map((c) => [c.name, c]));
  const changes = plan.changes.map((c): PlannedChange => {
    if (!isOrdered(c)) return c;
    const after = (desired[c.name]?.dependsOn ?? []).filter((dep) => {
      const d = byName.get(dep);
      return d !== undefined && d.action !== "nothing" && dep !== c.name;
    });
    return after.length === 0 ? c : { ...c, after };
  });
  if (rollout === undefined) return { ...plan, changes };

  const order = rollout.hostOrder ?? [];
  const rank = (host: string) => (order.includes(host) ? order.indexOf(host) : order.length);
  const hosts = [...new Set(changes.filter(isOrdered).map((c) => c.host))]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const size = batchHosts(rollout.batch, hosts.length);
  const batchOf = new Map<string, number>();
  for (const c of changes) if (isOrdered(c)) batchOf.set(c.name, Math.floor(hosts.indexOf(c.host) / size) + 1);
  // Dependencies first: a change never runs in an earlier batch than what it waits for (bounded: cycles stop it).
  for (let round = 0; round < changes.length; round++) {
    let moved = false;
    for (const c of changes) {
      for (const dep of c.after ?? []) {
        const own = batchOf.get(c.name) as number;
        const theirs = batchOf.get(dep);
        if (theirs !== undefined && theirs > own) {
          batchOf.set(c.name, theirs);
          moved = true;
        }
      }
    }
    if (!moved) break;
  }
  // Batches emptied by that are dropped: the numbers stay 1, 2, 3, ...
  const used = [...new Set(batchOf.values())].sort((a, b) => a - b);
  const batched = changes.map((c) =>
    batchOf.has(c.name) ? { ...c, batch: used.indexOf(batchOf.get(c.name) as number) + 1 } : c
  );
  const batches = used.map((_, i) => hosts.filter((h) => batched.some((c) => c.batch === i + 1 && c.host === h)));
  return {
    ...plan,
    changes: batched,
    ...(batches.length === 0 ? {} : { rollout: { batch: rollout.batch, pauseMs: rollout.pauseMs, batches } }),
  };
}

/**
 * `plan` with the batches and dependencies of `saved` (a reviewed plan of the
 * same changes): a saved plan is applied in the order it showed.
 */
export function withRolloutOf<P extends Plan>(plan: P, saved: Plan): P {
  const order = new Map(saved.changes.map((c) => [c.name, c]));
  const changes = plan.changes.map((c) => {
    const { batch: _batch, after: _after, ...rest } = c;
    const s = order.get(c.name);
    return {
      ...rest,
      ...(s?.batch === undefined ? {} : { batch: s.batch }),
      ...(s?.after === undefined ? {} : { after: s.after }),
    };
  });
  const { rollout: _rollout, ...rest } = plan;
  return { ...rest, changes, ...(saved.rollout === undefined ? {} : { rollout: saved.rollout }) } as P;
}

/**
 * Apply: carry out a plan. Hosts are worked on concurrently, containers on
 * one host in a stable order (removals first). After every step the state
 * that is true now is handed to `onState`, so a failure half-way loses
 * nothing. A stop signal ends the run between steps, never inside one.
 * The order is `apply-schedule.ts`'s, the steps are `apply-steps.ts`'s.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { BerthError, withContext } from "../core/errors.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { hostKey } from "../core/host.ts";
import { type BatchStart, runScheduled, type Steps } from "./apply-schedule.ts";
import { pullFirst } from "./apply-pull.ts";
import { carryRecords, withGeneration } from "./generations.ts";
import { changeStep, createStep, removeStep, type StepContext } from "./apply-steps.ts";
import { blockedChanges, type Plan, type PlannedChange } from "./plan.ts";
import type { Session } from "./session.ts";
import { DEFAULT_HOST_CONCURRENCY } from "./limit.ts";
import { type GateEventType, passGate } from "./gate.ts";
import { HostSlots } from "./host-slots.ts";

/** Progress of one change, for output. */
export interface ApplyEvent {
  /**
   * What happened: the change began, was done, failed or was skipped (never started: see `error`), or its gate
   * is being waited for, passed or failed.
   */
  type: "begin" | "done" | "failed" | "skipped" | GateEventType;
  /** The change it is about. */
  change: PlannedChange;
  /** The gate in words (`healthy within 60s`), on the gate events. */
  gate?: string;
  /** Milliseconds, on `done` and `failed`. */
  durationMs?: number;
  /** Why, on `failed`; on `skipped`, why it was not started (none: the run was interrupted). */
  error?: BerthError;
}

/** Outcome of one change. */
export interface ChangeResult {
  /** The container's name in the plan. */
  name: string;
  /** The action the plan gave the change. */
  action: PlannedChange["action"];
  /** The host acted on, as the plan names it. */
  host: string;
  /** True when the change was carried out; false when it failed or was skipped. */
  ok: boolean;
  /** Milliseconds it took; 0 when it never began (skipped, or failed before its first step). */
  durationMs: number;
  /** Why it failed or was not started; absent when it succeeded or the run was interrupted before it. */
  error?: BerthError;
}

/** What an apply did. */
export interface ApplyResult {
  /** One per change worked on (not `nothing`, `forget` or `blocked`), in the order they ended. */
  results: ChangeResult[];
  /** The state now true on the hosts. */
  state: ContainersState;
  /** Changes that failed or were skipped. */
  failed: number;
  /** Changes the plan could not carry out (action `blocked`, not in `results`). */
  blocked: number;
  /** True when a stop signal ended the run before every change was done. */
  interrupted: boolean;
}

/** Options of an apply. */
export interface ApplyOptions {
  /** Called with a snapshot after every step that changed the state. */
  onState?: (state: ContainersState) => void | Promise<void>;
  /** Told each change's progress as it happens: begin, gate, then done, failed or skipped. */
  onEvent?: (event: ApplyEvent) => void;
  /** Told as each batch of a rollout (`Plan.rollout`) starts, after the pause before it. */
  onBatch?: (batch: BatchStart) => void;
  /** Checked between steps: when aborted, steps in flight finish and no new step starts. */
  stopSignal?: AbortSignal;
  /** Hosts worked on at once; default {@link DEFAULT_HOST_CONCURRENCY}. */
  concurrency?: number;
  /**
   * Containers of one host worked on at once; default 4. They are started in
   * name order, removals (on every host) before the rest. A container waiting
   * for its gate does not count (engine/host-slots.ts): with 1, the next one
   * begins while it waits. The config's `rollout:` batches bound how many are
   * replaced at once.
   */
  perHostConcurrency?: number;
  /** Seconds a container gets to stop before it is killed; default 10. */
  stopTimeoutSeconds?: number;
  /** How a desired entry is recorded and hashed: with its secrets sealed (see core/sensitive.ts); as it is by default. */
  seal?: (hcc: HostConfiguredContainer) => HostConfiguredContainer;
}

/**
 * Carries out `plan`.
 *
 * @param current The previous state with statuses as observed (it is copied, not changed).
 */
export async function apply(
  plan: Plan,
  desired: ContainersState,
  current: ContainersState,
  session: Session,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  // The entries the mutation being recorded replaces, as they were (see `record`); unset between mutations.
  let replaced: ContainersState | undefined;
  const entries: ContainersState = { ...current };
  const state: ContainersState = new Proxy(entries, {
    set(target, name, entry) {
      const before = typeof name === "string" ? target[name] : undefined;
      if (replaced !== undefined && before !== undefined && !Object.hasOwn(replaced, name)) {
        replaced[name as string] = before;
      }
      return Reflect.set(target, name, entry);
    },
  });
  const seal = options.seal ?? ((hcc: HostConfiguredContainer) => hcc);
  const results: ChangeResult[] = [];
  let interrupted = false;
  // A state that cannot be saved stops the run: no step starts after it, so what changed stays few and adoptable.
  let unsaved: BerthError | undefined;
  // The snapshots copy the proxy's target: a copy through the proxy cost more than the write at 10,000 entries.
  const recorder = stateRecorder(entries, async (snapshot) => {
    try {
      await options.onState?.(snapshot);
    } catch (err) {
      unsaved ??= err instanceof BerthError ? err : new BerthError("STATE", String(err), { cause: err });
      throw unsaved;
    }
  });

  // A container that stays keeps its recorded image and previous generation, whatever step rewrote its entry.
  // Only the entries a mutation replaced are looked at: a copy of the whole state per step grew with the fleet.
  const record = (mutate: () => void) =>
    recorder(() => {
      replaced = {};
      try {
        mutate();
      } finally {
        const was = replaced;
        replaced = undefined;
        carryRecords(was, state);
      }
    });

  // Changes that only touch the state ("nothing" with new host settings, "forget").
  await record(() => {
    for (const c of plan.changes) {
      const want = desired[c.name];
      if (c.action === "nothing" && want !== undefined) {
        const sealed = seal(want);
        state[c.name] = { ...sealed, container: { ...sealed.container, ...statusOf(state[c.name]) } };
      }
      if (c.action === "forget") delete state[c.name];
    }
  }).catch(() => {});

  const work = plan.changes.filter((c) => !["nothing", "forget", "blocked"].includes(c.action));
  const report = (c: PlannedChange, r: Omit<ChangeResult, "name" | "action" | "host">) =>
    results.push({ name: c.name, action: c.action, host: c.host, ...r });
  const slots = new HostSlots(options.perHostConcurrency ?? 4);
  const ctx: StepContext = {
    session,
    record,
    state,
    stopTimeoutSeconds: options.stopTimeoutSeconds ?? 10,
    seal,
    gate: (c, want, id) =>
      slots.outside(
        hostKey(want.host),
        () => passGate(session, c, want, id, (type, gate) => options.onEvent?.({ type, change: c, gate })),
      ),
  };
  // Images first, on every host, before anything is stopped; a change whose image cannot be had does not run.
  const concurrency = options.concurrency ?? DEFAULT_HOST_CONCURRENCY;
  const unpulled = await pullFirst(work, desired, session, { concurrency, ...stopOption(options.stopSignal) });
  /** After a create: the image the new container runs, and the generation it replaced (for rollback). */
  const recordGeneration = async (c: PlannedChange, want: HostConfiguredContainer) => {
    const image = await session.imageIdentity(want, options.stopSignal);
    await record(() => {
      const created = state[c.name];
      if (created !== undefined) state[c.name] = withGeneration(created, image, current[c.name]);
    });
  };
  const steps: Steps = {
    run: async (c, fn) => {
      if (options.stopSignal?.aborted || unsaved !== undefined) {
        interrupted = true;
        report(c, { ok: false, durationMs: 0 });
        options.onEvent?.({ type: "skipped", change: c });
        return false;
      }
      options.onEvent?.({ type: "begin", change: c });
      const started = performance.now();
      try {
        await fn();
        const durationMs = performance.now() - started;
        report(c, { ok: true, durationMs });
        options.onEvent?.({ type: "done", change: c, durationMs });
        return true;
      } catch (err) {
        const durationMs = performance.now() - started;
        const error = err instanceof BerthError ? err : withContext(err, `${c.action} ${c.name}`);
        report(c, { ok: false, durationMs, error });
        options.onEvent?.({ type: "failed", change: c, durationMs, error });
        return false;
      }
    },
    fail: (c, error) => {
      report(c, { ok: false, durationMs: 0, error });
      options.onEvent?.({ type: "failed", change: c, durationMs: 0, error });
    },
    skip: (c, error) => {
      report(c, { ok: false, durationMs: 0, error });
      options.onEvent?.({ type: "skipped", change: c, error });
    },
    remove: (name, hcc, id) => removeStep(ctx, name, hcc, id),
    create: async (c, want) => {
      await createStep(ctx, c, want);
      await recordGeneration(c, want);
    },
    change: async (c, want, prev) => {
      await changeStep(ctx, c, want, prev);
      if (c.action === "create" || c.action === "recreate") await recordGeneration(c, want);
    },
  };
  // A change whose image could not be had fails here, untouched; its batch counts as failed.
  for (const c of work) {
    const error = unpulled.get(c.name);
    if (error !== undefined) steps.fail(c, error);
  }
  await runScheduled(work, desired, current, steps, {
    hosts: concurrency,
    slots,
  }, {
    pauseMs: plan.rollout?.pauseMs ?? 0,
    failed: new Set(unpulled.keys()),
    ...(options.stopSignal === undefined ? {} : { signal: options.stopSignal }),
    ...(options.onBatch === undefined ? {} : { onBatch: options.onBatch }),
  });
  if (unsaved === undefined) await record(() => {}).catch(() => {});
  if (unsaved !== undefined) {
    const done = results.filter((r) => r.ok).length;
    throw new BerthError(
      "STATE",
      `Apply stopped: the state could not be saved, so no further change was started (${done} done, ${
        results.length - done
      } failed or not started). ${unsaved.message}`,
      { cause: unsaved },
    );
  }
  const failed = results.filter((r) => !r.ok).length;
  return { results, state: { ...state }, failed, blocked: blockedChanges(plan).length, interrupted };
}

/** True when the apply did the whole plan: no change failed, was skipped or was blocked. */
export function applySucceeded(result: ApplyResult): boolean {
  return result.failed === 0 && result.blocked === 0 && !result.interrupted;
}

/**
 * Hands the state to `onState` after changes, one call at a time. Changes
 * made while a call is running are handed over together in the next call,
 * so each change is persisted before its `record()` resolves, without one
 * write per change when many containers change at once. A call starts only
 * after the event loop's waiting callbacks have run: steps of other hosts
 * that finished meanwhile join it (a file write blocks the loop, so without
 * that each step wrote the whole state on its own: 300 writes of 1,000
 * containers for an apply to 100 hosts).
 */
function stateRecorder(
  state: ContainersState,
  onState: ApplyOptions["onState"],
): (mutate: () => void) => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const write = (): Promise<void> => {
    const snapshot = { ...state };
    running = Promise.resolve(onState?.(snapshot)).finally(() => (running = undefined));
    return running;
  };
  return (mutate) => {
    mutate();
    if (queued !== undefined) return queued;
    const after = running === undefined ? new Promise<void>((ok) => setImmediate(ok)) : running.catch(() => {});
    queued = after.then(() => {
      queued = undefined;
      return write();
    });
    return queued;
  };
}

function stopOption(signal: AbortSignal | undefined): { stopSignal?: AbortSignal } {
  return signal === undefined ? {} : { stopSignal: signal };
}

function statusOf(hcc: HostConfiguredContainer | undefined): { status?: { id: string; status: string } } {
  const status = hcc?.container.status;
  return status === undefined ? {} : { status };
}

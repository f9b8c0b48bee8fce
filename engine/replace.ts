/**
 * A recreate that keeps the old container until the new one passed: the old
 * one is renamed aside (engine/aside.ts) while it runs, the new one is
 * created under the real name and started (`createStep`, which waits for its
 * gate) beside it (start-first) or right after the old one stopped
 * (stop-first, when the two would clash: engine/replace-order.ts), and only
 * then is the old one removed. When the new one fails, it is removed and the old one gets
 * its name back and runs again. The state is recorded after every step, so
 * it is true wherever the run stops; what a killed run leaves is finished or
 * restored by the next apply (`settleStep`).
 *
 * @module
 */
import { BerthError, outOfReach } from "../core/errors.ts";
import type { HostConfiguredContainer } from "../core/model.ts";
import { LABEL_MANAGED, LABEL_NAME, type Runtime } from "../runtimes/runtime.ts";
import { asideName } from "../core/aside-name.ts";
import {
  createStep,
  doing,
  removeStep,
  type StepContext,
  stopAndRemove,
  stopTimeout,
  withStatus,
} from "./apply-steps.ts";
import type { PlannedChange } from "./plan.ts";
import { recreateOrder } from "./replace-order.ts";

const RUNNING = ["running", "restarting", "paused"];

/** Replaces container `c.replaces` (described by `prev`) with a new one made from `want`, on one host. */
export async function replaceStep(
  ctx: StepContext,
  c: PlannedChange,
  want: HostConfiguredContainer,
  prev: HostConfiguredContainer | undefined,
): Promise<void> {
  const old = prev ?? want;
  const oldId = c.replaces as string;
  const runtime = await ctx.session.runtime(want);
  const rename = runtime.rename?.bind(runtime);
  if (rename === undefined) {
    // Names the runtime cannot change: the old one goes first (stop-first without a way back).
    await removeStep(ctx, c.name, old, oldId);
    return await createStep(ctx, c, want);
  }
  const seen = await doing(`reading container "${c.name}" on host ${c.host}`, () => runtime.status(oldId));
  if (seen === undefined) return await createStep(ctx, c, want);
  const order = c.strategy ?? recreateOrder(prev, want).order;
  const oldName = old.container.config.name;
  const aside = asideName(oldName, seen.id);
  const wasRunning = RUNNING.includes(seen.status);
  // A container restarting in a loop serves nothing, and the engine cannot rename it so: it is stopped first.
  const stopNow = wasRunning && seen.status === "restarting";
  // Stop-first: the new one is created beside the old one, which is stopped just before the new one starts.
  const stopLater = wasRunning && !stopNow && order === "stop-first";
  let stopped = false;
  let renamed = false;
  /** Stops the old one; `record`: while the state still records it. */
  const stopOld = async (record: boolean) => {
    stopped = true;
    await doing(
      `stopping the old container "${aside}" on host ${c.host}`,
      () => runtime.stop(oldId, { timeoutSeconds: stopTimeout(ctx, old) }),
    );
    if (record) await ctx.record(() => (ctx.state[c.name] = withStatus(old, oldId, "exited")));
  };
  try {
    if (stopNow) await stopOld(true);
    await doing(`renaming container "${c.name}" aside to "${aside}" on host ${c.host}`, async () => {
      try {
        await rename(oldId, aside);
      } catch (err) {
        // It went into a restart between the status and the rename: stopped, then renamed.
        if (stopped || (await runtime.status(oldId))?.status !== "restarting") throw err;
        await stopOld(true);
        await rename(oldId, aside);
      }
    });
    renamed = true;
    await createStep(ctx, c, want, stopLater ? () => stopOld(false) : undefined);
  } catch (err) {
    // The host is out of reach: a restore would only wait out another connection attempt. The next apply finds
    // the old container set aside (engine/aside.ts) and restores it, or finishes the change.
    if (err instanceof BerthError && outOfReach(err)) {
      const left = renamed ? `; the old container stays set aside as "${aside}" until the next apply` : "";
      throw new BerthError(err.code, `${err.message}${left}`, {
        cause: err,
        ...(err.host === undefined ? {} : { host: err.host }),
        container: c.name,
      });
    }
    const back = await restore(ctx, c, runtime, rename, {
      old,
      oldId,
      oldName,
      wasRunning,
      stopped,
      renamed,
      status: seen.status,
    })
      .then(() => undefined, (e: unknown) => e);
    const error = err instanceof BerthError ? err : new BerthError("ENGINE", String(err), { cause: err });
    const how = back === undefined
      ? `the old container is back under its name${wasRunning ? " and running" : ""}`
      : `restoring the old container failed too (${
        back instanceof Error ? back.message : String(back)
      }): apply again to restore it`;
    throw new BerthError(error.code, `${error.message}; ${how}`, {
      cause: error,
      ...(error.host === undefined ? {} : { host: error.host }),
      container: c.name,
    });
  }
  // The new one passed: only now does the old one go.
  await doing(
    `removing the old container "${aside}" on host ${c.host} (the new one runs; the next apply removes it)`,
    () => stopAndRemove(runtime, oldId, stopTimeout(ctx, old)),
  );
}

/** What `restore` needs to know about the old container. */
interface OldContainer {
  old: HostConfiguredContainer;
  oldId: string;
  oldName: string;
  wasRunning: boolean;
  stopped: boolean;
  renamed: boolean;
  status: string;
}

/** Removes the new container (whatever holds the name), gives the old one its name back and starts it if it ran. */
async function restore(
  ctx: StepContext,
  c: PlannedChange,
  runtime: Runtime,
  rename: NonNullable<Runtime["rename"]>,
  o: OldContainer,
): Promise<void> {
  const timeout = stopTimeout(ctx, o.old);
  const recorded = ctx.state[c.name]?.container.status?.id;
  if (recorded !== undefined && recorded !== o.oldId) await stopAndRemove(runtime, recorded, timeout);
  // A new container created but not recorded (the create answered with an error) still holds the name.
  const holder = await runtime.inspect(o.oldName);
  if (holder !== undefined && holder.id !== o.oldId) {
    if (holder.labels[LABEL_MANAGED] !== "true" || holder.labels[LABEL_NAME] !== o.oldName) {
      throw new BerthError(
        "CONFLICT",
        `container ${holder.id.slice(0, 12)}, not berth's, took the name "${o.oldName}"`,
      );
    }
    await stopAndRemove(runtime, holder.id, timeout);
  }
  await ctx.record(() => (ctx.state[c.name] = withStatus(o.old, o.oldId, o.stopped ? "exited" : o.status)));
  if (o.renamed) await rename(o.oldId, o.oldName);
  if (!o.wasRunning) return;
  if ((await runtime.status(o.oldId))?.status !== "running") await runtime.start(o.oldId);
  await ctx.record(() => (ctx.state[c.name] = withStatus(o.old, o.oldId, "running")));
}

/**
 * A name an interrupted apply left with its old container set aside
 * (`finish` or `restore`, see engine/aside.ts): removes the old one when the
 * new one runs as configured, else removes the unfinished new one and gives
 * the old one its name back, running.
 */
export async function settleStep(
  ctx: StepContext,
  c: PlannedChange,
  want: HostConfiguredContainer,
  prev: HostConfiguredContainer | undefined,
): Promise<void> {
  const work = c.aside;
  if (work === undefined) throw new Error(`${c.action} ${c.name} without an old container set aside`);
  const runtime = await ctx.session.runtime(prev ?? want);
  const timeout = stopTimeout(ctx, prev ?? want);
  if (work.restoreAs === undefined) {
    if (work.adopt !== undefined) {
      const id = work.adopt;
      await ctx.record(() => (ctx.state[c.name] = withStatus(ctx.seal(want), id, "running")));
    }
    await doing(
      `removing the old container "${work.name}" on host ${c.host}`,
      () => stopAndRemove(runtime, work.id, timeout),
    );
    return;
  }
  const rename = runtime.rename?.bind(runtime);
  if (rename === undefined) throw new Error(`${c.action} ${c.name}: the runtime cannot rename`);
  const name = work.restoreAs;
  // Nothing else due: the old one is as configured (engine/aside.ts); else the change that follows replaces it.
  const as = c.action === "restore" || prev === undefined ? ctx.seal(want) : prev;
  await doing(`restoring the old container "${work.name}" as "${name}" on host ${c.host}`, async () => {
    if (work.drop !== undefined) await stopAndRemove(runtime, work.drop, timeout);
    const status = (await runtime.status(work.id))?.status ?? "exited";
    await ctx.record(() => (ctx.state[c.name] = withStatus(as, work.id, status)));
    await rename(work.id, name);
    if (status !== "running") await runtime.start(work.id);
    await ctx.record(() => (ctx.state[c.name] = withStatus(as, work.id, "running")));
  });
}

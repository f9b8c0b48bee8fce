/**
 * Adoption: a container berth created but did not record (the state write
 * failed, or berth was killed between create and record) is taken into the
 * state as it is, instead of being removed and created again, when it
 * carries berth's labels for that name and the configuration hash the
 * config wants now. Anything else holding the name is left to the plan.
 *
 * @module
 */
import { configHash } from "../core/hash.ts";
import { hostLabel } from "../core/host.ts";
import { type ContainersState, STATUS_GONE } from "../core/model.ts";
import type { ObservedState } from "./observe.ts";

/** One container taken into the state. */
export interface Adopted {
  /** Its name in the state (its key in the desired state). */
  name: string;
  /** The host it runs on, as {@link hostLabel} names it. */
  host: string;
  /** Its container id. */
  id: string;
  /** Its status as the runtime reports it (`running`, `exited`, ...). */
  status: string;
}

/**
 * The previous state with every adoptable container recorded (by id and
 * status), and which were adopted. `previous` is not changed.
 *
 * @param observed What the hosts report, with the holder of each desired name that has no live recorded container.
 */
export function adoptUnrecorded(
  previous: ContainersState,
  desired: ContainersState,
  observed: ObservedState,
): { previous: ContainersState; adopted: Adopted[] } {
  const adopted: Adopted[] = [];
  const next: ContainersState = { ...previous };
  for (const [name, want] of Object.entries(desired)) {
    const obs = observed[name];
    const holder = obs?.nameHolder;
    if (obs === undefined || obs.error !== undefined || holder === undefined || !holder.managed) continue;
    if (obs.status !== undefined && obs.status.status !== STATUS_GONE) continue;
    if (holder.configHash !== configHash(want.container.config, want.container.runtime)) continue;
    next[name] = { ...want, container: { ...want.container, status: { id: holder.id, status: holder.status } } };
    adopted.push({ name, host: hostLabel(want.host), id: holder.id, status: holder.status });
  }
  return { previous: next, adopted };
}

/**
 * The hosts an apply has nothing to do on, whose connections from the check
 * need not stay open through its steps: an apply that changes 10 hosts of
 * 1,000 would otherwise hold 1,000 SSH connections to its end.
 *
 * @module
 */
import { hostKey } from "../core/host.ts";
import type { ContainersState, Host } from "../core/model.ts";
import type { Plan } from "./plan.ts";

/** Changes that only touch the state (or cannot run) reach no host. */
const NO_HOST_WORK = new Set(["nothing", "forget", "blocked"]);

/**
 * The hosts of `previous` and `desired` that no change of `plan` works on
 * (a change works on its container's recorded host and on its desired one);
 * none when the plan removes volumes or networks, which are on hosts too.
 */
export function idleHosts(plan: Plan, previous: ContainersState, desired: ContainersState): Host[] {
  if ((plan.volumes?.length ?? 0) > 0 || (plan.networks?.length ?? 0) > 0) return [];
  const busy = new Set<string>();
  for (const change of plan.changes) {
    if (NO_HOST_WORK.has(change.action)) continue;
    for (const hcc of [previous[change.name], desired[change.name]]) if (hcc !== undefined) busy.add(hostKey(hcc.host));
  }
  const idle = new Map<string, Host>();
  for (const hcc of [...Object.values(previous), ...Object.values(desired)]) {
    const key = hostKey(hcc.host);
    if (!busy.has(key)) idle.set(key, hcc.host);
  }
  return [...idle.values()];
}

/**
 * One container's plan entry, built the same way wherever a plan is made
 * (engine/plan.ts, engine/aside.ts).
 *
 * @module
 */
import { hostLabel } from "../core/host.ts";
import type { HostConfiguredContainer } from "../core/model.ts";
import type { Action, PlannedChange } from "./plan.ts";

/**
 * Builds the plan entries of container `name` on the host of `on`: an
 * action, its reasons, and whatever else the entry carries (`extra`).
 */
export function changeOf(
  name: string,
  on: HostConfiguredContainer,
): (action: Action, reasons: string[], extra?: Partial<PlannedChange>) => PlannedChange {
  return (action, reasons, extra = {}) => ({
    name,
    action,
    host: hostLabel(on.host),
    reasons,
    diff: [],
    files: [],
    directories: [],
    ...extra,
  });
}

/**
 * The gate in the plan: each change that starts a container says what apply
 * will wait for (`~ web recreate (gate: healthy within 60s)`), and a
 * crash-looping container's reason says so.
 *
 * @module
 */
import { describeGate, gateOf } from "../core/gate-fields.ts";
import type { HostConfiguredContainer } from "../core/model.ts";
import type { Observation } from "./observe.ts";
import type { PlannedChange } from "./plan.ts";

/** `change` with its gate, when carrying it out starts the container (a gate of `none` is shown too). */
export function withGate(
  change: PlannedChange,
  want: HostConfiguredContainer | undefined,
  obs: Observation,
): PlannedChange {
  if (want === undefined || !startsContainer(change, obs)) return change;
  return { ...change, gate: describeGate(gateOf(want.container.config)) };
}

/** Whether apply starts (or restarts) the container for this change; an in-place update of a running one does not. */
function startsContainer(change: PlannedChange, obs: Observation): boolean {
  switch (change.action) {
    case "create":
    case "recreate":
    case "start":
    case "update-files":
      return true;
    case "update":
      return change.files.length > 0 || change.directories.length > 0 || obs.status?.status !== "running";
    default:
      return false;
  }
}

/** The reason's tail for a container the engine keeps restarting. */
export function crashLoopNote(obs: Observation): string {
  return obs.status?.status === "restarting"
    ? " (a crash loop: the engine keeps restarting it; berth starts it again and waits for its gate)"
    : "";
}

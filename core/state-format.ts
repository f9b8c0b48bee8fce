/**
 * The layouts a state file can have: berth's (`version: 1`, `containers:`)
 * and flexkube's containers resource (`previousState:`, the containers in
 * the same shape; `{}` when there are none), so a state can be handed to
 * flexkube, or kept where flexkube keeps it. A file that exists keeps the
 * layout it has unless another is asked for.
 *
 * @module
 */
import { isFlexkubeDocument } from "./flexkube-document.ts";
import type { ContainersState } from "./model.ts";
import { stateDocument, stateToYaml } from "./serialize.ts";
import { isMapping } from "./shape.ts";
import { emitYaml } from "./yaml-emit.ts";

/** How a state file is laid out. */
export type StateFormat = "berth" | "flexkube";

export const STATE_FORMATS: readonly StateFormat[] = ["berth", "flexkube"];

/** The layout of a parsed state document; an empty one is berth's (it has none of its own). */
export function stateFormatOf(doc: unknown): StateFormat {
  if (!isMapping(doc) || Object.keys(doc).length === 0 || Object.hasOwn(doc, "version")) return "berth";
  return isFlexkubeDocument(doc) ? "flexkube" : "berth";
}

/**
 * A state's text in a layout: berth's is {@link stateToYaml}'s; flexkube's
 * holds the same containers (sealed, without secrets) under `previousState:`.
 */
export function stateText(
  state: ContainersState,
  format: StateFormat,
  options: { digestKey?: Uint8Array } = {},
): string {
  if (format === "berth") return stateToYaml(state, options);
  const { containers } = stateDocument(state, options) as { containers: Record<string, unknown> };
  // flexkube writes an empty state as "{}".
  return Object.keys(containers).length === 0 ? "{}\n" : emitYaml({ previousState: containers });
}

/**
 * flexkube's documents, accepted as they are:
 * - a containers resource: `previousState:` / `desiredState:` maps of HCCs;
 * - flexkube CLI groups: `containers: { GROUP: { desiredState: {...} } }` in
 *   config.yaml, `containers: { GROUP: { NAME: HCC } }` in state.yaml
 *   (also under `state:`, as the CLI writes it). Groups are flattened into
 *   one map; a name in two groups is a problem.
 *
 * @module
 */
import { containersStateFromDocument } from "./document-to-model.ts";
import type { Containers } from "./model.ts";
import type { Problem } from "./problem.ts";
import { at, type Check, checkFields, describe, isMapping, mapping, own, quote, report } from "./shape.ts";
import { checkContainers, checkContainersState, checkDuplicateNames, type NamedContainer } from "./validate.ts";

const STATE_KEYS = ["previousState", "desiredState"] as const;
type StateKey = (typeof STATE_KEYS)[number];

function isResource(value: unknown): value is Record<string, unknown> {
  return isMapping(value) && STATE_KEYS.some((key) => Object.hasOwn(value, key));
}

function isResourceGroup(value: unknown): boolean {
  return isMapping(value) && Object.keys(value).length > 0 &&
    Object.keys(value).every((key) => (STATE_KEYS as readonly string[]).includes(key));
}

function isHccMapGroup(value: unknown): boolean {
  return isMapping(value) && Object.keys(value).length > 0 &&
    Object.values(value).every((hcc) => isMapping(hcc) && Object.hasOwn(hcc, "container"));
}

/** True when a document is in one of flexkube's shapes rather than berth's. */
export function isFlexkubeDocument(doc: unknown): boolean {
  if (!isMapping(doc)) return false;
  if (isResource(doc) || Object.hasOwn(doc, "state")) return true;
  const groups = own(doc, "containers");
  if (!isMapping(groups)) return false;
  // Keys once, values as needed: berth's own config (100k containers) is told apart at its first entry.
  const names = Object.keys(groups);
  return names.length > 0 && names.every((name) => isResourceGroup(groups[name]) || isHccMapGroup(groups[name]));
}

/**
 * Reads a flexkube document into one containers resource, adding a problem
 * for everything wrong. The result is only meaningful when no problem was added.
 *
 * @param plainGroupsAre Which state a group given as a plain map of HCCs holds:
 *   the recorded one in state.yaml, the desired one in config.yaml.
 */
export function readFlexkubeDocument(doc: unknown, problems: Problem[], plainGroupsAre: StateKey): Containers {
  const start = problems.length;
  if (isResource(doc)) {
    checkDuplicateNames(checkContainers(doc, "", problems), problems);
    return problems.length > start ? {} : toContainers(doc);
  }
  const merged: Record<StateKey, Record<string, unknown>> = { previousState: {}, desiredState: {} };
  const desired: NamedContainer[] = [];
  const firstGroup = new Map<string, string>();
  const checkGroups: Check = (groups, groupsPath, found) => {
    if (!isMapping(groups)) {
      report(found, groupsPath, `expected a mapping of container groups, got ${describe(groups)}`);
      return;
    }
    for (const [group, value] of Object.entries(groups)) {
      const groupPath = at(groupsPath, group);
      const states: Array<[StateKey, unknown, string]> = [];
      if (isResourceGroup(value)) {
        desired.push(...checkContainers(value, groupPath, found, { allowEmpty: true }));
        for (const key of STATE_KEYS) {
          const state = own(value as Record<string, unknown>, key);
          if (state !== undefined) states.push([key, state, at(groupPath, key)]);
        }
      } else {
        const valid = checkContainersState(value, groupPath, found);
        if (plainGroupsAre === "desiredState") desired.push(...valid);
        states.push([plainGroupsAre, value, groupPath]);
      }
      for (const [key, state, statePath] of states) {
        if (!isMapping(state)) continue;
        for (const [name, hcc] of Object.entries(state)) {
          const other = firstGroup.get(`${key} ${name}`);
          if (other !== undefined) {
            report(
              found,
              at(statePath, name),
              `container ${quote(name)} is also in group ${quote(other)}; rename one of them`,
            );
            continue;
          }
          firstGroup.set(`${key} ${name}`, group);
          Object.defineProperty(merged[key], name, {
            value: hcc,
            enumerable: true,
            configurable: true,
            writable: true,
          });
        }
      }
    }
  };
  checkFields(doc, "", problems, {
    containers: { check: checkGroups },
    state: { check: mapping({ containers: { check: checkGroups } }) },
  });
  checkDuplicateNames(desired, problems);
  return problems.length > start ? {} : toContainers(merged);
}

function toContainers(doc: Record<string, unknown>): Containers {
  const out: Containers = {};
  for (const key of STATE_KEYS) {
    const state = own(doc, key);
    if (state !== undefined) out[key] = containersStateFromDocument(state);
  }
  return out;
}

/**
 * Hosts by the names the config gives them (`node1`), with the address beside
 * it: the model keeps only addresses, the config document has the names.
 *
 * @module
 */
import { hostLabel } from "../core/host.ts";
import type { ContainersState } from "../core/model.ts";

/** Address label (as in plans and results) -> the config's host name. */
export type HostNames = ReadonlyMap<string, string>;

/** The names of the hosts the containers of a berth config document use (none for a flexkube document). */
export function hostNamesOf(doc: unknown, desired: ContainersState): HostNames {
  const names = new Map<string, string>();
  const containers = isRecord(doc) && isRecord(doc.containers) ? doc.containers : {};
  for (const [key, entry] of Object.entries(containers)) {
    const hcc = Object.hasOwn(desired, key) ? desired[key] : undefined;
    if (hcc !== undefined && isRecord(entry) && typeof entry.host === "string") {
      names.set(hostLabel(hcc.host), entry.host);
    }
  }
  return names;
}

/** The config's name for a host label, or the label when the config does not name it. */
export function hostNameOf(names: HostNames, label: string): string {
  return names.get(label) ?? label;
}

/** `node1 (10.0.0.11)`, or the label alone when the config does not name the host (or names it alike). */
export function hostDisplay(names: HostNames, label: string): string {
  const name = names.get(label);
  return name === undefined || name === label ? label : `${name} (${label})`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

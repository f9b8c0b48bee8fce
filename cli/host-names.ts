/**
 * Hosts by the names the config gives them (`node1`), with the address beside
 * it: the model keeps only addresses, the config document has the names.
 *
 * @module
 */
import { hostLabel } from "../core/host.ts";
import type { ContainersState } from "../core/model.ts";
import type { ApplyEvent, ApplyResult } from "../engine/apply.ts";
import type { Plan, PlannedChange } from "../engine/plan.ts";

/** Address label (as in plans and results) -> the config's host name. */
export type HostNames = ReadonlyMap<string, string>;

/** The names of the hosts the containers of a berth config document use (none for a flexkube document). */
export function hostNamesOf(doc: unknown, desired: ContainersState): HostNames {
  const names = new Map<string, string>();
  // Every host of hosts: (a container that moves away leaves a host no container names any more) ...
  const hosts = isRecord(doc) && isRecord(doc.hosts) ? doc.hosts : {};
  for (const [name, spec] of Object.entries(hosts)) {
    if (!isRecord(spec)) continue;
    if (isRecord(spec.direct)) names.set("local", name);
    else if (isRecord(spec.ssh) && typeof spec.ssh.address === "string") names.set(spec.ssh.address, name);
  }
  // ... and, exactly, the hosts the containers use, as the config resolved them.
  const containers = isRecord(doc) && isRecord(doc.containers) ? doc.containers : {};
  for (const key of Object.keys(containers)) {
    const entry = containers[key];
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

/** A change with its hosts shown as `node1 (10.0.0.11)`, for the lines a person reads. */
export function displayChange(names: HostNames, c: PlannedChange): PlannedChange {
  return {
    ...c,
    host: hostDisplay(names, c.host),
    ...(c.fromHost === undefined ? {} : { fromHost: hostDisplay(names, c.fromHost) }),
  };
}

/** A plan with its hosts shown as `node1 (10.0.0.11)`. */
export function displayPlan<P extends Plan>(names: HostNames, plan: P): P {
  return {
    ...plan,
    changes: plan.changes.map((c) => displayChange(names, c)),
    ...(plan.rollout === undefined ? {} : {
      rollout: { ...plan.rollout, batches: plan.rollout.batches.map((b) => b.map((h) => hostDisplay(names, h))) },
    }),
    ...(plan.volumes === undefined ? {} : {
      volumes: plan.volumes.map((v) => ({ ...v, host: hostDisplay(names, v.host) })),
    }),
    ...(plan.networks === undefined ? {} : {
      networks: plan.networks.map((v) => ({ ...v, host: hostDisplay(names, v.host) })),
    }),
  };
}

/** An apply event with its hosts shown as `node1 (10.0.0.11)`. */
export function displayEvent(names: HostNames, event: ApplyEvent): ApplyEvent {
  return { ...event, change: displayChange(names, event.change) };
}

/** An apply result with its hosts shown as `node1 (10.0.0.11)`. */
export function displayResult(names: HostNames, result: ApplyResult): ApplyResult {
  return { ...result, results: result.results.map((r) => ({ ...r, host: hostDisplay(names, r.host) })) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Old containers set aside by a recreate (engine/replace.ts): while the new
 * one starts, the old one is renamed to `<name>.berth-old-<id8>`; its
 * `berth.name` label (set at its creation; engine labels cannot change)
 * still says whose old generation it is. An apply killed half-way leaves at
 * most that one extra container per name: the next check finds it in the
 * labelled listing it makes anyway, and the next plan finishes the recreate
 * (the new one runs as configured: the old one goes) or restores the old one
 * (renamed back and started). Pure: the steps are in engine/replace.ts.
 *
 * @module
 */
import { configHash } from "../core/hash.ts";
import { shortId } from "../core/container-id.ts";
import { type HostConfiguredContainer, STATUS_GONE } from "../core/model.ts";
import { LABEL_CONFIG_HASH, LABEL_NAME, type ObservedContainer } from "../runtimes/runtime.ts";
import type { Observation } from "./observe.ts";
import type { PlannedChange } from "./plan.ts";
import { changeOf } from "./change-of.ts";
import { isAsideNameOf } from "../core/aside-name.ts";

/** An old container found set aside on a host. */
export interface AsideContainer {
  /** Its container id. */
  id: string;
  /** Its name on the host now (`<name>.berth-old-<id8>`). */
  name: string;
  /** The name it had and gets back when restored (its `berth.name` label). */
  of: string;
  /** Its status as the runtime reports it (`running`, `exited`, ...). */
  status: string;
  /** Its `berth.config-hash` label (the configuration it was created with); absent when it has none. */
  configHash?: string;
}

/** What a change does with a container set aside (`PlannedChange.aside`). */
export interface AsideWork {
  /** The old container's id. */
  id: string;
  /** The old container's name on the host now (`<name>.berth-old-<id8>`). */
  name: string;
  /** Set when it is restored: renamed back to this name and started. */
  restoreAs?: string;
  /** Set when restoring: the unfinished new container holding the name, removed first. */
  drop?: string;
  /** Set when finishing and the state does not record the new one yet: its id, recorded. */
  adopt?: string;
}

/** The containers of a host's listing set aside, by the name whose old generation they are. */
export function asideIndex(listing: Iterable<ObservedContainer>): Map<string, AsideContainer[]> {
  const index = new Map<string, AsideContainer[]>();
  for (const c of listing) {
    const of = c.labels[LABEL_NAME];
    if (of === undefined || !isAsideNameOf(c.name, of)) continue;
    const hash = c.labels[LABEL_CONFIG_HASH];
    const aside = { id: c.id, name: c.name, of, status: c.status, ...(hash === undefined ? {} : { configHash: hash }) };
    index.set(of, [...(index.get(of) ?? []), aside].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }
  return index;
}

/**
 * The change for a name with an old container set aside, or undefined when
 * there is none. The name's holder is the new one: when it is berth's, runs
 * and has the configuration wanted now, the recreate is finished (the old
 * one is removed); otherwise the old one is restored (the unfinished new one
 * removed, the old one renamed back and started). Whatever change is still
 * due after that (`then`: the plan of one name) is carried out in the same change.
 */
export function planLeftover(
  name: string,
  prev: HostConfiguredContainer | undefined,
  want: HostConfiguredContainer | undefined,
  obs: Observation,
  then: (prev: HostConfiguredContainer, obs: Observation) => PlannedChange,
): PlannedChange | undefined {
  const old = obs.aside?.[0];
  if (old === undefined) return undefined;
  const on = (prev ?? want) as HostConfiguredContainer;
  const change = changeOf(name, on);
  const left = `an interrupted apply left the old container set aside as "${old.name}" (${shortId(old.id)})`;
  const recorded = obs.status?.status === STATUS_GONE ? undefined : obs.status;
  if (want === undefined) {
    return change("remove", ["not in the desired state", `${left}: it is removed too`], {
      replaces: recorded?.id ?? old.id,
      aside: { id: old.id, name: old.name },
    });
  }
  // The holder of the name: the recorded container when it still has it, else whatever the listing shows there.
  const holder = recorded !== undefined && recorded.id !== old.id && obs.renamedTo === undefined
    ? { id: recorded.id, status: recorded.status, managed: true, configHash: obs.configHash }
    : obs.nameHolder;
  if (holder !== undefined && !holder.managed) {
    return change("blocked", [
      `${left}, and container ${
        shortId(holder.id)
      }, which berth did not create, holds its name: remove that container, then apply again to restore the old one`,
    ]);
  }
  const wanted = configHash(want.container.config, want.container.runtime);
  const finish = holder !== undefined && holder.status === "running" && holder.configHash === wanted;
  const keep = finish ? holder : { id: old.id, status: "running", configHash: old.configHash };
  const aside: AsideWork = finish
    ? { id: old.id, name: old.name, ...(holder.id === recorded?.id ? {} : { adopt: holder.id }) }
    : { id: old.id, name: old.name, restoreAs: old.of, ...(holder === undefined ? {} : { drop: holder.id }) };
  const why = finish
    ? `${left}; the new one runs as configured: the old one is removed`
    : `${left}; no new one runs as configured${
      holder === undefined ? "" : ` (${shortId(holder.id)} is ${holder.status}: removed)`
    }: the old one is renamed back to "${old.of}" and started first`;
  // What is still due once that is done: planned as if the kept container were the recorded one.
  // Its config: the wanted one when its label says so, else the recorded one (a label that differs plans a recreate).
  const base = keep.configHash === wanted || prev === undefined ? want : prev;
  const settledPrev = { ...base, container: { ...base.container, status: { id: keep.id, status: keep.status } } };
  const { renamedTo: _renamed, nameHolder: _holder, aside: _aside, configHash: _hash, ...rest } = obs;
  const next = then(settledPrev, {
    ...rest,
    status: { id: keep.id, status: keep.status },
    ...(keep.configHash === undefined ? {} : { configHash: keep.configHash }),
  });
  if (next.action === "nothing" || next.action === "start") {
    return change(finish ? "finish" : "restore", [why], { aside });
  }
  return { ...next, reasons: [why, ...next.reasons], aside, ...(finish ? {} : { replaces: old.id }) };
}

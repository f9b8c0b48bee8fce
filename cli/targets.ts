/**
 * `--target NAME` / `--host NAME` (repeatable): plan and apply a subset of the
 * containers, like `terraform -target` and Ansible's `--limit`. The rest of the
 * state is left as it is and written back untouched.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import { hostLabel } from "../core/host.ts";
import type { ContainersState } from "../core/model.ts";
import { suggest } from "../core/suggest.ts";
import { hostNameOf, type HostNames } from "./host-names.ts";

/** The names given with `--target` and `--host`. */
export interface Selection {
  target?: string[];
  host?: string[];
}

/** The selected part of the desired and previous states, and the entries of the previous state left alone. */
export interface Selected {
  desired: ContainersState;
  previous: ContainersState;
  untouched: ContainersState;
}

/**
 * Keeps the containers named by `--target` (a key of `containers:` or of the state) and on the hosts named
 * by `--host` (a name from `hosts:`); both given: both must hold. Unknown names are refused with a suggestion.
 */
export function selectContainers(
  desired: ContainersState,
  previous: ContainersState,
  names: HostNames,
  selection: Selection,
): Selected {
  const targets = selection.target ?? [];
  const hosts = selection.host ?? [];
  if (targets.length === 0 && hosts.length === 0) return { desired, previous, untouched: {} };
  const containers = [...new Set([...Object.keys(desired), ...Object.keys(previous)])].sort();
  for (const t of targets) refuseUnknown("--target", t, containers, "a container of the config or the state");
  const hostNames = [...new Set(names.values())].sort();
  for (const h of hosts) refuseUnknown("--host", h, hostNames, "a host of hosts:");
  const onHost = (name: string) => {
    const where = [desired[name], previous[name]].filter((hcc) => hcc !== undefined);
    return where.some((hcc) => hosts.includes(hostNameOf(names, hostLabel(hcc.host))));
  };
  const chosen = (name: string) =>
    (targets.length === 0 || targets.includes(name)) && (hosts.length === 0 || onHost(name));
  const pick = (state: ContainersState, keep: boolean) =>
    Object.fromEntries(Object.entries(state).filter(([name]) => chosen(name) === keep));
  return { desired: pick(desired, true), previous: pick(previous, true), untouched: pick(previous, false) };
}

function refuseUnknown(flag: string, name: string, known: string[], what: string): void {
  if (known.includes(name)) return;
  const close = suggest(name, known);
  throw new BerthError(
    "VALIDATION",
    `${flag} "${name}" is not ${what}${close === undefined ? "" : `; did you mean "${close}"?`} (known: ${
      known.join(", ") || "none"
    })`,
  );
}

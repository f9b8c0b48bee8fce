/**
 * Named volumes and user-defined networks the plan removes. Neither is
 * removed with a container: only when its name left the config's
 * `volumes:` or `networks:` does the plan remove it, on each host where the
 * recorded containers used it, with a warning (a volume's data goes with
 * it). The runtime creates them when a container that uses one is created,
 * so creating them needs no plan entry.
 *
 * @module
 */
import { BerthError, withContext } from "../core/errors.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import type { CallOptions, Runtime } from "../runtimes/runtime.ts";
import type { Session } from "./session.ts";

/** A volume or network the plan removes. */
export interface HostObjectRemoval {
  /** The volume's or network's name. */
  name: string;
  /** The host it is removed from. */
  host: string;
  /** A recorded container of that host that used it: how apply reaches the host. */
  via: string;
  /** What is lost, in words. */
  warning: string;
}

/** A volume the plan removes. */
export type VolumeRemoval = HostObjectRemoval;
/** A network the plan removes. */
export type NetworkRemoval = HostObjectRemoval;

type Kind = "volume" | "network";

const KINDS: Record<Kind, {
  section: string;
  used: (hcc: HostConfiguredContainer) => string[];
  lost: string;
  remove: (runtime: Runtime) => ((name: string, options?: CallOptions) => Promise<void>) | undefined;
}> = {
  volume: {
    section: "volumes:",
    used: (hcc) => (hcc.container.config.mounts ?? []).flatMap((m) => m.type === "volume" ? [m.source as string] : []),
    lost: "deletes its data",
    remove: (runtime) => runtime.removeVolume?.bind(runtime),
  },
  network: {
    section: "networks:",
    used: (hcc) => (hcc.container.config.networks ?? []).map((n) => n.name),
    lost: "disconnects whatever still joins it outside berth",
    remove: (runtime) => runtime.removeNetwork?.bind(runtime),
  },
};

/**
 * The volumes to remove: mounted by a recorded container, no longer declared.
 *
 * @param previous What the last run recorded.
 * @param declared The names under `volumes:`; when not given (a flexkube document), nothing is removed.
 */
export function volumeRemovals(previous: ContainersState, declared: string[] | undefined): VolumeRemoval[] {
  return removals("volume", previous, declared);
}

/**
 * The networks to remove: joined by a recorded container, no longer declared.
 *
 * @param previous What the last run recorded.
 * @param declared The names under `networks:`; when not given (a flexkube document), nothing is removed.
 */
export function networkRemovals(previous: ContainersState, declared: string[] | undefined): NetworkRemoval[] {
  return removals("network", previous, declared);
}

function removals(kind: Kind, previous: ContainersState, declared: string[] | undefined): HostObjectRemoval[] {
  if (declared === undefined) return [];
  const { section, used, lost } = KINDS[kind];
  const found = new Map<string, HostObjectRemoval>();
  for (const [container, hcc] of Object.entries(previous).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const name of used(hcc)) {
      const key = JSON.stringify([hostKey(hcc.host), name]);
      if (declared.includes(name) || found.has(key)) continue;
      const host = hostLabel(hcc.host);
      found.set(key, {
        name,
        host,
        via: container,
        warning: `${kind} "${name}" is no longer under ${section} removing it on host ${host} ${lost}; ` +
          `declare it again to keep it`,
      });
    }
  }
  return [...found.values()].sort((a, b) => (a.host + a.name < b.host + b.name ? -1 : 1));
}

/**
 * Removes one volume or network, reaching its host through the recorded container's settings.
 *
 * @throws {BerthError} With the host and the object named, and a next step.
 */
export async function removeHostObject(
  kind: Kind,
  removal: HostObjectRemoval,
  previous: ContainersState,
  session: Session,
  options: CallOptions = {},
): Promise<void> {
  const hcc = previous[removal.via];
  try {
    if (hcc === undefined) throw new BerthError("STATE", `container "${removal.via}" is not in the state`);
    const remove = KINDS[kind].remove(await session.runtime(hcc, options.signal));
    if (remove === undefined) throw new BerthError("VALIDATION", `its runtime has no ${kind}s`);
    await remove(removal.name, options);
  } catch (err) {
    throw withContext(err, `removing ${kind} "${removal.name}" on host ${removal.host}`, { host: removal.host });
  }
}

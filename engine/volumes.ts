/**
 * Named volumes the plan removes. A volume is never removed with a
 * container: only when its name left the config's `volumes:` does the plan
 * remove it, on each host where the recorded containers mounted it, with a
 * warning (its data goes with it). Volumes are created by the runtime when a
 * container that mounts one is created, so creating them needs no plan entry.
 *
 * @module
 */
import { BerthError, withContext } from "../core/errors.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import type { ContainersState } from "../core/model.ts";
import type { CallOptions } from "../runtimes/runtime.ts";
import type { Session } from "./session.ts";

/** A volume the plan removes. */
export interface VolumeRemoval {
  /** The volume's name. */
  name: string;
  /** The host it is removed from. */
  host: string;
  /** A recorded container of that host that mounted it: how apply reaches the host. */
  via: string;
  /** What is lost, in words. */
  warning: string;
}

/**
 * The volumes to remove: mounted by a recorded container, no longer declared.
 *
 * @param previous What the last run recorded.
 * @param declared The names under `volumes:`; when not given (a flexkube document), nothing is removed.
 */
export function volumeRemovals(previous: ContainersState, declared: string[] | undefined): VolumeRemoval[] {
  if (declared === undefined) return [];
  const found = new Map<string, VolumeRemoval>();
  for (const [container, hcc] of Object.entries(previous).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const mount of hcc.container.config.mounts ?? []) {
      const name = mount.source as string;
      if (mount.type !== "volume" || declared.includes(name)) continue;
      const key = JSON.stringify([hostKey(hcc.host), name]);
      if (found.has(key)) continue;
      const host = hostLabel(hcc.host);
      found.set(key, {
        name,
        host,
        via: container,
        warning: `volume "${name}" is no longer under volumes: removing it on host ${host} deletes its data; ` +
          `declare it again to keep it`,
      });
    }
  }
  return [...found.values()].sort((a, b) => (a.host + a.name < b.host + b.name ? -1 : 1));
}

/**
 * Removes one volume, reaching its host through the recorded container's settings.
 *
 * @throws {BerthError} With the host and the volume named, and a next step.
 */
export async function removeVolume(
  removal: VolumeRemoval,
  previous: ContainersState,
  session: Session,
  options: CallOptions = {},
): Promise<void> {
  const hcc = previous[removal.via];
  try {
    if (hcc === undefined) throw new BerthError("STATE", `container "${removal.via}" is not in the state`);
    const runtime = await session.runtime(hcc, options.signal);
    if (runtime.removeVolume === undefined) {
      throw new BerthError("VALIDATION", "its runtime has no named volumes");
    }
    await runtime.removeVolume(removal.name, options);
  } catch (err) {
    throw withContext(
      err,
      `removing volume "${removal.name}" on host ${removal.host}`,
      { host: removal.host },
    );
  }
}

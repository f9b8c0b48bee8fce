/**
 * Check current state: what the hosts report now about the containers of
 * the previous and desired state. Read-only: each host's engine is asked
 * once for the containers carrying berth's labels, and each host's files are
 * read in one batch through the transport; nothing is pulled, created,
 * started, stopped or written (only helper containers left by a killed run
 * are removed). An unreachable host is recorded per container, never thrown.
 *
 * @module
 */
import {
  type ContainerConfig,
  type ContainersState,
  type ContainerStatus,
  type Host,
  type HostConfiguredContainer,
  STATUS_GONE,
} from "../core/model.ts";
import {
  LABEL_CONFIG_HASH,
  LABEL_MANAGED,
  LABEL_NAME,
  type ObservedContainer,
  type Runtime,
} from "../runtimes/runtime.ts";
import { inPlaceSettings } from "../core/fields.ts";
import { hostKey } from "../core/host.ts";
import { DEFAULT_HOST_CONCURRENCY, mapLimit } from "./limit.ts";
import { removeAbandonedHelpers } from "./host-files.ts";
import { directoryMounts } from "./plan.ts";
import { registryDigestFor } from "./image-policy.ts";
import type { Session } from "./session.ts";
import { signalOption } from "../core/signal.ts";
import { type AsideContainer, asideIndex } from "./aside.ts";
import { nameHolders } from "./name-holders.ts";

/** A container found on a host under the desired name, not the recorded id. */
export interface NameHolder {
  /** Its container id. */
  id: string;
  /** Its status as the runtime reports it (`running`, `exited`, ...). */
  status: string;
  /** Created by berth for this same name. */
  managed: boolean;
  /** Its configuration hash label, when it has one. */
  configHash?: string;
}

/** What a host reports about one container name. */
export interface Observation {
  /** Set when the host could not be asked (unreachable, engine error); nothing else is then known. */
  error?: string;
  /** The recorded container as it is now; `gone` when its id no longer exists. */
  status?: ContainerStatus;
  /** The configuration hash label on the running container (drift behind berth's back). */
  configHash?: string;
  /** The in-place settings the engine reports for the recorded container (`settings` of the runtime's inspect). */
  settings?: Partial<ContainerConfig>;
  /** The networks the recorded container is attached to now, where the runtime tells them. */
  networks?: string[];
  /** The engine's healthcheck verdict on the recorded container (`unhealthy` is planned as a recreate). */
  health?: string;
  /** The name the recorded container has now, when it was renamed outside berth. */
  renamedTo?: string;
  /** `pull: always`: the digest the registry serves now for the desired image (engine/image-policy.ts). */
  registryDigest?: string;
  /** A container holding the desired name when the recorded one is missing (or an old one is set aside). */
  nameHolder?: NameHolder;
  /** Old containers of this name an interrupted recreate set aside (engine/aside.ts), from the same listing. */
  aside?: AsideContainer[];
  /**
   * The recorded container's environment as the host holds it, by name. Only
   * while checking: the resource keeps the sensitive ones, as digests, and drops the rest.
   */
  env?: Record<string, string>;
  /** Current content of config files on the host (`null`: missing). */
  files: Record<string, string | null>;
  /** Directory mount sources: what is there now. */
  mounts: Record<string, "directory" | "file" | "missing">;
  /** Config files and mount directories (ending in `/`) that cannot be read without a change, and why. */
  unknown?: Record<string, string>;
}

function hasInPlace(hcc: HostConfiguredContainer): boolean {
  return Object.keys(inPlaceSettings(hcc.container.config)).length > 0;
}

/** name -> what the hosts report. */
export type ObservedState = Record<string, Observation>;

/** Options of a check. */
export interface CheckOptions {
  /** Cancels the hosts' requests when aborted; containers not answered by then are observed with an `error`. */
  signal?: AbortSignal;
  /** Hosts checked at once; default {@link DEFAULT_HOST_CONCURRENCY}. */
  concurrency?: number;
  /**
   * Close each host's connections as soon as it is checked, for a caller
   * that will not use them again (`berth plan`, `berth status`); by default
   * they stay open for the apply that follows.
   */
  closeEachHost?: boolean;
}

/**
 * Asks every host about every container of the previous and desired state.
 *
 * @returns What each host reported, by container name.
 */
export async function observe(
  previous: ContainersState,
  desired: ContainersState,
  session: Session,
  options: CheckOptions = {},
): Promise<ObservedState> {
  const names = [...new Set([...Object.keys(previous), ...Object.keys(desired)])].sort();
  // Group by the host that is asked: where the container was recorded, else where it should be.
  const byHost = new Map<string, { host: Host; names: string[] }>();
  for (const name of names) {
    const hcc = (previous[name] ?? desired[name]) as HostConfiguredContainer;
    const key = hostKey(hcc.host);
    const group = byHost.get(key) ?? { host: hcc.host, names: [] };
    group.names.push(name);
    byHost.set(key, group);
  }
  const observed: ObservedState = {};
  await mapLimit([...byHost.values()], options.concurrency ?? DEFAULT_HOST_CONCURRENCY, async (group) => {
    Object.assign(observed, await observeHost(group.names, previous, desired, session, options.signal));
    if (options.closeEachHost) session.release(group.host);
  });
  return observed;
}

/**
 * The containers carrying berth's labels on a host, in one request per
 * runtime; helpers left there by a killed run are removed on the way.
 */
export async function listManaged(runtime: Runtime, signal?: AbortSignal): Promise<ObservedContainer[]> {
  const all = await runtime.list({ [LABEL_MANAGED]: "true" }, signalOption(signal));
  await removeAbandonedHelpers(runtime, all, signalOption(signal));
  return all;
}

/** One host: one listing per runtime, inspections only for names the listing cannot answer, files in one batch. */
async function observeHost(
  names: string[],
  previous: ContainersState,
  desired: ContainersState,
  session: Session,
  signal?: AbortSignal,
): Promise<ObservedState> {
  /** Per runtime: its listing, by id and by name (a host may hold thousands). */
  type Listing = {
    byId: Map<string, ObservedContainer>;
    byName: Map<string, ObservedContainer>;
    asides: Map<string, AsideContainer[]>;
  };
  const listings = new Map<Runtime, Promise<Listing>>();
  const listed = async (hcc: HostConfiguredContainer) => {
    const runtime = await session.runtime(hcc, signal);
    let listing = listings.get(runtime);
    if (listing === undefined) {
      listing = listManaged(runtime, signal).then((all) => ({
        byId: new Map(all.map((c) => [c.id, c])),
        byName: new Map(all.map((c) => [c.name, c])),
        asides: asideIndex(all),
      }));
      listings.set(runtime, listing);
    }
    return { runtime, listing: await listing };
  };
  const holderOf = nameHolders(signal);
  /** The desired names of this host berth's listing lacks: asked together (engine/name-holders.ts). */
  const unlisted = (byName: Map<string, ObservedContainer>) =>
    names.flatMap((n) => desired[n] === undefined ? [] : [desired[n].container.config.name])
      .filter((n) => !byName.has(n));
  const result: ObservedState = {};
  /** Per file access: the paths to read and the names waiting on them. */
  const looks = new Map<
    Awaited<ReturnType<Session["files"]>>,
    { paths: Set<string>; dirs: Set<string>; names: string[] }
  >();
  await Promise.all(names.map(async (name) => {
    const obs: Observation = { files: {}, mounts: {} };
    result[name] = obs;
    try {
      await observeOne(name, obs);
    } catch (err) {
      result[name] = { error: err instanceof Error ? err.message : String(err), files: {}, mounts: {} };
    }
  }));
  async function observeOne(name: string, obs: Observation): Promise<void> {
    const prev = previous[name];
    const want = desired[name];
    const recorded = prev?.container.status?.id ? prev : undefined;
    let found: ObservedContainer | undefined;
    if (recorded !== undefined) {
      const id = recorded.container.status?.id as string;
      const { runtime, listing } = await listed(recorded);
      // A recorded id may be a short one; an imported container (`berth import`) has no berth labels.
      found = listing.byId.get(id) ?? [...listing.byId.values()].find((c) => c.id.startsWith(id)) ??
        await runtime.inspect(id, signalOption(signal));
      obs.status = found === undefined ? { id, status: STATUS_GONE } : { id: found.id, status: found.status };
      if (found?.labels[LABEL_CONFIG_HASH] !== undefined) obs.configHash = found.labels[LABEL_CONFIG_HASH];
      if (found !== undefined && found.name !== recorded.container.config.name) obs.renamedTo = found.name;
      if (found?.networks !== undefined) obs.networks = found.networks;
      if (found?.health !== undefined) obs.health = found.health;
      // The listing carries neither settings nor the environment: inspect only containers whose config sets a
      // setting the engine changes in place, or has sensitive env (drift by digest, core/sensitive.ts), so the
      // check of a host stays one listing for the others.
      const wantsSettings = hasInPlace(recorded) || (want !== undefined && hasInPlace(want));
      const wantsEnv = (want?.sensitive?.env?.length ?? 0) > 0;
      if (found !== undefined && (wantsSettings || wantsEnv)) {
        const inspected = await runtime.inspect(found.id, signalOption(signal));
        if (wantsSettings && inspected?.settings !== undefined) obs.settings = inspected.settings;
        if (wantsEnv && inspected?.env !== undefined) {
          obs.env = Object.fromEntries(inspected.env.map((line) => {
            const at = line.indexOf("=");
            return at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
          }));
        }
      }
    }
    if (found !== undefined && recorded !== undefined && want !== undefined) {
      const digest = await registryDigestFor(recorded, want, session, signal);
      if (digest !== undefined) obs.registryDigest = digest;
    }
    const asking = recorded ?? want;
    if (asking !== undefined) {
      const { listing } = await listed(asking);
      const of = new Set([recorded?.container.config.name, want?.container.config.name]);
      const aside = [...of].flatMap((n) => n === undefined ? [] : listing.asides.get(n) ?? []);
      if (aside.length > 0) obs.aside = aside;
    }
    const nameLeft = found !== undefined && want !== undefined && obs.aside !== undefined &&
      found.name !== want.container.config.name;
    if ((found === undefined || nameLeft) && want !== undefined) {
      const wanted = want.container.config.name;
      const { runtime, listing } = await listed(want);
      // A container berth did not create is not in the listing: only then is the name asked for.
      const holder = listing.byName.get(wanted) ??
        await holderOf(runtime, wanted, () => unlisted(listing.byName));
      if (holder !== undefined) {
        obs.nameHolder = {
          id: holder.id,
          status: holder.status,
          managed: holder.labels[LABEL_MANAGED] === "true" && holder.labels[LABEL_NAME] === wanted,
          ...(holder.labels[LABEL_CONFIG_HASH] === undefined ? {} : { configHash: holder.labels[LABEL_CONFIG_HASH] }),
        };
      }
    }
    // Files and mounts matter only where the container exists and stays.
    if (
      found !== undefined && recorded !== undefined && want !== undefined &&
      hostKey(want.host) === hostKey(recorded.host)
    ) {
      const paths = [...Object.keys(recorded.configFiles ?? {}), ...Object.keys(want.configFiles ?? {})];
      const dirs = directoryMounts(want).map((source) => source.slice(0, -1));
      if (paths.length > 0 || dirs.length > 0) {
        const files = await session.files(recorded, signal);
        const look = looks.get(files) ?? { paths: new Set(), dirs: new Set(), names: [] };
        paths.forEach((p) => look.paths.add(p));
        dirs.forEach((d) => look.dirs.add(d));
        look.names.push(name);
        looks.set(files, look);
      }
    }
  }
  // One batch of reads per file access of the host.
  for (const [files, look] of looks) {
    let seen;
    try {
      seen = await files.look([...look.paths].sort(), [...look.dirs].sort(), signal);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      for (const name of look.names) result[name] = { error, files: {}, mounts: {} };
      continue;
    }
    for (const name of look.names) {
      const obs = result[name] as Observation;
      const prev = previous[name] as HostConfiguredContainer;
      const want = desired[name] as HostConfiguredContainer;
      const paths = [...new Set([...Object.keys(prev.configFiles ?? {}), ...Object.keys(want.configFiles ?? {})])]
        .sort();
      for (const path of paths) {
        const why = seen.unknown.get(path);
        if (why !== undefined) (obs.unknown ??= {})[path] = why;
        else obs.files[path] = seen.files.get(path) ?? null;
      }
      for (const source of directoryMounts(want)) {
        const why = seen.unknown.get(source);
        if (why !== undefined) (obs.unknown ??= {})[source] = why;
        else obs.mounts[source] = seen.dirs.get(source.slice(0, -1)) ?? "missing";
      }
    }
  }
  return result;
}

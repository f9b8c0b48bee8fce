/**
 * Check current state: what the hosts report now about the containers of
 * the previous and desired state. Read-only, except for the short-lived file
 * helper. An unreachable host is recorded per container, never thrown.
 *
 * @module
 */
import {
  type ContainersState,
  type ContainerStatus,
  type HostConfiguredContainer,
  STATUS_GONE,
} from "../core/model.ts";
import { LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_NAME, type ObservedContainer } from "../runtimes/runtime.ts";
import { hostKey } from "../core/host.ts";
import { mapLimit } from "./limit.ts";
import { directoryMounts } from "./plan.ts";
import type { Session } from "./session.ts";
import { signalOption } from "../core/signal.ts";

/** A container found on a host under the desired name, not the recorded id. */
export interface NameHolder {
  id: string;
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
  /** The name the recorded container has now, when it was renamed outside berth. */
  renamedTo?: string;
  /** A container holding the desired name when the recorded one is missing. */
  nameHolder?: NameHolder;
  /**
   * The recorded container's environment as the host holds it, by name. Only
   * while checking: the resource keeps the sensitive ones, as digests, and drops the rest.
   */
  env?: Record<string, string>;
  /** Current content of config files on the host (`null`: missing). */
  files: Record<string, string | null>;
  /** Directory mount sources: what is there now. */
  mounts: Record<string, "directory" | "file" | "missing">;
}

/** name -> what the hosts report. */
export type ObservedState = Record<string, Observation>;

const PER_HOST = 4;

/** Options of a check. */
export interface CheckOptions {
  signal?: AbortSignal;
  /** Hosts checked at once; default 16. */
  concurrency?: number;
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
  const byHost = new Map<string, string[]>();
  for (const name of names) {
    const hcc = (previous[name] ?? desired[name]) as HostConfiguredContainer;
    const key = hostKey(hcc.host);
    byHost.set(key, [...(byHost.get(key) ?? []), name]);
  }
  const observed: ObservedState = {};
  // Hosts in parallel; on one host a few containers at a time over the same connection.
  await mapLimit([...byHost.values()], options.concurrency ?? 16, (group) =>
    mapLimit(group, PER_HOST, async (name) => {
      observed[name] = await observeOne(previous[name], desired[name], session, options.signal);
    }));
  return observed;
}

async function observeOne(
  prev: HostConfiguredContainer | undefined,
  want: HostConfiguredContainer | undefined,
  session: Session,
  signal?: AbortSignal,
): Promise<Observation> {
  const result: Observation = { files: {}, mounts: {} };
  const opts = signalOption(signal);
  try {
    const recorded = prev?.container.status?.id ? prev : undefined;
    let found: ObservedContainer | undefined;
    if (recorded !== undefined) {
      const runtime = await session.runtime(recorded, signal);
      found = await runtime.inspect(recorded.container.status?.id as string, opts);
      result.status = found === undefined
        ? { id: recorded.container.status?.id as string, status: STATUS_GONE }
        : { id: found.id, status: found.status };
      if (found?.labels[LABEL_CONFIG_HASH] !== undefined) result.configHash = found.labels[LABEL_CONFIG_HASH];
      if (found !== undefined && found.name !== recorded.container.config.name) result.renamedTo = found.name;
      if (found?.env !== undefined) {
        result.env = Object.fromEntries(found.env.map((line) => {
          const at = line.indexOf("=");
          return at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
        }));
      }
    }
    if (found === undefined && want !== undefined) {
      const runtime = await session.runtime(want, signal);
      const holder = await runtime.inspect(want.container.config.name, opts);
      if (holder !== undefined) {
        result.nameHolder = {
          id: holder.id,
          status: holder.status,
          managed: holder.labels[LABEL_MANAGED] === "true" && holder.labels[LABEL_NAME] === want.container.config.name,
          ...(holder.labels[LABEL_CONFIG_HASH] === undefined ? {} : { configHash: holder.labels[LABEL_CONFIG_HASH] }),
        };
      }
    }
    // Files and mounts matter only where the container exists and stays.
    if (
      found !== undefined && recorded !== undefined && want !== undefined &&
      hostKey(want.host) === hostKey(recorded.host)
    ) {
      const paths = [...new Set([...Object.keys(recorded.configFiles ?? {}), ...Object.keys(want.configFiles ?? {})])]
        .sort();
      const dirs = directoryMounts(want).map((source) => source.slice(0, -1));
      if (paths.length > 0 || dirs.length > 0) {
        const files = await session.files(recorded, signal);
        const contents = await files.read(paths, signal);
        for (const path of paths) {
          const file = contents.get(path);
          result.files[path] = file === undefined ? null : new TextDecoder().decode(file.content);
        }
        const stats = await files.stat(dirs, signal);
        for (const dir of dirs) {
          const info = stats.get(dir);
          result.mounts[`${dir}/`] = info === undefined ? "missing" : info.isDirectory ? "directory" : "file";
        }
      }
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  }
  return result;
}

/**
 * Plan: compare desired state with previous state and what the hosts report.
 * A pure function from data to data; printing and applying are elsewhere.
 *
 * @module
 */
import type { NetworkRemoval, VolumeRemoval } from "./host-objects.ts";
import type { RolloutPlan } from "./rollout.ts";
import { canonicalConfig, canonicalJson, configHash } from "../core/hash.ts";
import { containerFields, inPlaceSettings } from "../core/fields.ts";
import { type ContainersState, type HostConfiguredContainer, STATUS_GONE } from "../core/model.ts";
import { type DiffLine, diffText, diffValues } from "./diff.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import type { Observation, ObservedState } from "./observe.ts";
import { shortId } from "../core/container-id.ts";
import { changeOf } from "./change-of.ts";
import { crashLoopNote, UNHEALTHY, withGate } from "./plan-gate.ts";
import { movedTag } from "./image-policy.ts";
import { type AsideWork, planLeftover } from "./aside.ts";
import { type RecreateOrder, recreateOrder } from "./replace-order.ts";

/** What happens to one container. */
export type Action =
  | "create" // not there: write files, create, start
  | "recreate" // there but different (config, runtime, host): remove, then create
  | "update" // only settings the engine changes in place differ: update them (and any files), no recreate
  | "update-files" // config files differ or mount directories missing: write them, restart
  | "start" // there, unchanged, not running
  | "remove" // not desired any more
  | "forget" // not desired and already gone: only the state entry goes
  | "blocked" // cannot be planned: host unreachable, name taken, ...
  | "finish" // an interrupted recreate's new container runs: remove the old one set aside
  | "restore" // an interrupted recreate left no new one running: the old one gets its name back and runs
  | "nothing";

/** One container's entry in the plan. */
export interface PlannedChange {
  /** The container's name in the desired or previous state (its key there). */
  name: string;
  /** What happens to it. */
  action: Action;
  /** Host acted on: where the container will be (or was, for remove/forget). */
  host: string;
  /** For a recreate that moves the container: the host it leaves. */
  fromHost?: string;
  /** Why, in words. */
  reasons: string[];
  /** What changes. */
  diff: DiffLine[];
  /** Config file paths to write. */
  files: string[];
  /** Directory mounts (sources ending in `/`) to create. */
  directories: string[];
  /**
   * Files and directories (ending in `/`) among `files` and `directories`
   * whose content the check could not read without a change: apply reads
   * them first and leaves them (and the container) alone when they match.
   */
  unknown?: string[];
  /** Container ids removed before creating (the recorded one, or an unrecorded berth container holding the name). */
  replaces?: string;
  /** With a rollout: the batch it runs in, from 1 (engine/rollout.ts). Removals have none: they run first. */
  batch?: number;
  /** Its dependencies (`dependsOn`) changed in this plan: it starts only after they are done. */
  after?: string[];
  /** What apply waits for once it has started the container, in words (`healthy within 60s`); see engine/gate.ts. */
  gate?: string;
  /** For a recreate on one host: whether the new one starts beside the old one or after it stopped (engine/replace-order.ts). */
  strategy?: RecreateOrder;
  /** An old container an interrupted recreate set aside, and what happens to it (engine/aside.ts). */
  aside?: AsideWork;
}

/** A plan: plain, serialisable data. */
export interface Plan {
  /** One per container of the desired or previous state, `nothing` included. */
  changes: PlannedChange[];
  /** Named volumes removed (after the containers' changes), each with its warning; absent when none. */
  volumes?: VolumeRemoval[];
  /** The batches of hosts the changes roll out in; absent when all hosts change at once. */
  rollout?: RolloutPlan;
  /** User-defined networks removed (after the containers' changes), each with its warning; absent when none. */
  networks?: NetworkRemoval[];
  /** Counts by action, `nothing` excluded. */
  summary: Partial<Record<Action, number>>;
  /** True when nothing changes on any host or in the state. */
  empty: boolean;
}

/** The changes that cannot be carried out (host unreachable, name taken, ...): applying does the rest. */
export function blockedChanges(plan: Plan): PlannedChange[] {
  return plan.changes.filter((c) => c.action === "blocked");
}

/**
 * Plans the changes that make the hosts match the desired state.
 *
 * @param desired What the user wants.
 * @param previous What the last run recorded.
 * @param observed What the hosts report now (see `observe()`).
 */
export function plan(desired: ContainersState, previous: ContainersState, observed: ObservedState): Plan {
  const names = [...new Set([...Object.keys(previous), ...Object.keys(desired)])].sort();
  const changes = names.map((name) => {
    const [prev, want, obs] = [previous[name], desired[name], observed[name] ?? { files: {}, mounts: {} }];
    const then = (p: HostConfiguredContainer | undefined, o: Observation) =>
      withGate(withOrder(planOne(name, p, want, o), p, want), want, o);
    return (obs.error === undefined ? planLeftover(name, prev, want, obs, then) : undefined) ?? then(prev, obs);
  });
  const summary: Partial<Record<Action, number>> = {};
  for (const c of changes) if (c.action !== "nothing") summary[c.action] = (summary[c.action] ?? 0) + 1;
  return { changes, summary, empty: changes.every((c) => c.action === "nothing") };
}

function planOne(
  name: string,
  prev: HostConfiguredContainer | undefined,
  want: HostConfiguredContainer | undefined,
  obs: Observation,
): PlannedChange {
  const on = (want ?? prev) as HostConfiguredContainer;
  const change = changeOf(name, on);
  if (obs.error !== undefined) {
    return change("blocked", [`cannot check host ${hostLabel((prev ?? on).host)}: ${obs.error}`]);
  }

  const exists = obs.status !== undefined && obs.status.status !== STATUS_GONE;
  // A restarting container is crash-looping: it is started again and must pass its gate, never "nothing".
  const running = obs.status?.status === "running";
  const gone = obs.status?.status === STATUS_GONE
    ? [`recorded container ${shortId(obs.status.id)} no longer exists`]
    : [];

  if (want === undefined) {
    const was = prev as HostConfiguredContainer;
    if (!exists) return change("forget", ["not in the desired state", ...gone]);
    return change("remove", ["not in the desired state"], {
      host: hostLabel(was.host),
      replaces: obs.status?.id as string,
    });
  }

  const wantFiles = want.configFiles ?? {};
  const allFiles = Object.keys(wantFiles).sort();
  const allDirs = directoryMounts(want);

  if (!exists) {
    const fresh = {
      files: allFiles,
      directories: allDirs,
      diff: prev === undefined ? createdDiff(want) : configDiff(prev, want),
    };
    if (obs.nameHolder !== undefined) {
      if (!obs.nameHolder.managed) {
        return change("blocked", [
          `name "${want.container.config.name}" is taken on host ${hostLabel(want.host)} by container ${
            shortId(obs.nameHolder.id)
          }, which berth did not create: "berth import ${name}" takes it into the state (kept running when its settings match), or remove or rename that container, or choose another name`,
        ]);
      }
      return change("recreate", [
        ...gone,
        `an unrecorded berth container ${shortId(obs.nameHolder.id)} holds the name and is replaced`,
      ], {
        ...fresh,
        replaces: obs.nameHolder.id,
      });
    }
    return change("create", prev === undefined ? ["new in the desired state"] : gone, fresh);
  }

  const was = prev as HostConfiguredContainer;
  const replaces = obs.status?.id as string;
  if (hostKey(was.host) !== hostKey(want.host)) {
    return change("recreate", [`moves from host ${hostLabel(was.host)} to ${hostLabel(want.host)}`], {
      files: allFiles,
      directories: allDirs,
      replaces,
      fromHost: hostLabel(was.host),
      diff: [
        { op: "~", path: "host", before: hostLabel(was.host), after: hostLabel(want.host) },
        ...configDiff(was, want),
      ],
    });
  }
  // The container stays on its host: what its files hold there is known (or why not), so a recreate, like an
  // update, writes only the files that differ and shows them.
  const blockedMounts = allDirs.filter((d) => obs.mounts[d] === "file");
  if (blockedMounts.length > 0) {
    return change(
      "blocked",
      blockedMounts.map((d) =>
        `mount source "${d}" is a file on host ${
          hostLabel(want.host)
        }; a directory mount needs a directory: remove the file, or drop the trailing "/" to mount it as a file`
      ),
    );
  }
  const unknown = obs.unknown ?? {};
  // A file the check read has a diff; one it could not read (unknown) or did not read has a reason instead.
  const read = (p: string) => unknown[p] === undefined && p in obs.files;
  const files = allFiles.filter((p) => !read(p) || obs.files[p] !== wantFiles[p]);
  const diff = files.filter(read).flatMap((p) => diffText(p, obs.files[p] ?? null, wantFiles[p] as string));
  const directories = allDirs.filter((d) => unknown[d] !== undefined || obs.mounts[d] === "missing");
  const unread = [...files, ...directories].filter((p) => unknown[p] !== undefined);
  const fileChange = { files, directories, ...(unread.length > 0 && { unknown: unread }) };
  const fileReasons = [
    ...files.map((p) =>
      unknown[p] !== undefined
        ? `config file ${p}: ${unknown[p]}`
        : !(p in obs.files)
        ? `config file ${p} was not read in this check: it is written`
        : obs.files[p] === null
        ? `config file ${p} is missing on the host`
        : `config file ${p} differs`
    ),
    ...directories.map((d) =>
      unknown[d] !== undefined ? `mount directory ${d}: ${unknown[d]}` : `mount directory ${d} is missing on the host`
    ),
  ];
  const recreate = (reasons: string[], diffLines: DiffLine[] = []) =>
    change("recreate", [...reasons, ...fileReasons], { ...fileChange, replaces, diff: [...diffLines, ...diff] });

  const recorded = configHash(was.container.config, was.container.runtime);
  const wanted = configHash(want.container.config, want.container.runtime);
  if (recorded !== wanted) {
    return recreate(["container configuration changed"], configDiff(was, want));
  }
  if (obs.renamedTo !== undefined) {
    return recreate([`container was renamed to "${obs.renamedTo}" outside berth`]);
  }
  if (obs.configHash !== undefined && obs.configHash !== recorded) {
    return recreate(["container was changed outside berth (configuration label differs from the recorded one)"]);
  }

  const moved = movedTag(was, want, obs.registryDigest);
  if (moved !== undefined) return recreate([moved.reason], [moved.diff]);

  const envDrift = changedSecretEnv(want, obs);
  if (envDrift.length > 0) {
    return recreate(
      envDrift.map((k) => `env var ${k} was changed on the host outside berth (its digest differs)`),
      envDrift.map((k) => ({ op: "~" as const, path: `env.${k}`, sensitive: true as const })),
    );
  }

  const networks = networkDrift(want, obs);
  if (networks.length > 0) {
    return recreate(networks, [{
      op: "~",
      path: "networks",
      before: (obs.networks ?? []).join(", "),
      after: networkNames(want).join(", "),
    }]);
  }

  const restart = running ? "container is restarted to pick them up" : "container is started";

  // Settings the engine changes in place: compared with what it reports (drift), else with the record.
  const recordedSettings = inPlaceSettings(was.container.config);
  const current = obs.settings === undefined ? recordedSettings : inPlaceSettings(obs.settings);
  const settings = inPlaceSettings(want.container.config);
  const settingsDiff = diffValues(current, settings);
  if (settingsDiff.length > 0) {
    const why = canonicalJson(current) === canonicalJson(recordedSettings)
      ? "container configuration changed"
      : "container was changed outside berth (the engine reports other settings than recorded)";
    const cleared = containerFields()
      .filter(([key, field]) =>
        field.inPlace === "when-set" && current[key] !== undefined && settings[key] === undefined
      )
      .map(([key]) => key);
    if (cleared.length > 0) {
      return recreate(
        [why, `${cleared.join(", ")} cannot be cleared in place, so the container is recreated`],
        settingsDiff,
      );
    }
    return change("update", [
      why,
      `${settingsDiff.map((d) => d.path).join(", ")} changed in place, without a recreate`,
      ...fileReasons,
      ...(fileReasons.length > 0 || !running ? [restart] : []),
    ], { ...fileChange, diff: [...settingsDiff, ...diff] });
  }
  if (fileReasons.length > 0) return change("update-files", [...fileReasons, restart], { ...fileChange, diff });
  if (!running) return change("start", [`container is ${obs.status?.status}${crashLoopNote(obs)}`]);
  if (obs.health === "unhealthy") return recreate([UNHEALTHY]);
  return change("nothing", []);
}

/** A recreate on one host says its order; stop-first says why. */
function withOrder(
  c: PlannedChange,
  prev: HostConfiguredContainer | undefined,
  want: HostConfiguredContainer | undefined,
): PlannedChange {
  if (c.action !== "recreate" || c.fromHost !== undefined || want === undefined) return c;
  const { order, why } = recreateOrder(prev, want);
  return { ...c, strategy: order, reasons: why === undefined ? c.reasons : [...c.reasons, `stop-first: ${why}`] };
}

/** Sensitive env vars whose value on the host (as a digest) is not the desired one's digest. */
function changedSecretEnv(want: HostConfiguredContainer, obs: Observation): string[] {
  if (obs.env === undefined) return [];
  return (want.sensitive?.env ?? []).filter((k) => obs.env?.[k] !== want.container.config.env?.[k]);
}

/**
 * How the recorded container's user-defined networks differ from its config's
 * (connected or disconnected outside berth), in words; only for a config that
 * joins networks, as the engine attaches others (`bridge`) by default.
 */
function networkDrift(want: HostConfiguredContainer, obs: Observation): string[] {
  const wanted = networkNames(want);
  if (wanted.length === 0 || obs.networks === undefined) return [];
  const seen = obs.networks;
  return [
    ...wanted.filter((n) => !seen.includes(n)).map((n) =>
      `container was disconnected from network "${n}" outside berth`
    ),
    ...seen.filter((n) => !wanted.includes(n)).map((n) => `container was connected to network "${n}" outside berth`),
  ];
}

function networkNames(hcc: HostConfiguredContainer): string[] {
  return (hcc.container.config.networks ?? []).map((n) => n.name).sort();
}

/** Sources of directory mounts (ending in `/`), sorted. */
export function directoryMounts(hcc: HostConfiguredContainer): string[] {
  return (hcc.container.config.mounts ?? []).flatMap((m) => m.source?.endsWith("/") === true ? [m.source] : []).sort();
}

function configDiff(was: HostConfiguredContainer, want: HostConfiguredContainer): DiffLine[] {
  return [
    ...diffValues(shownConfig(was), shownConfig(want)),
    ...diffValues(publicRuntime(was), publicRuntime(want), "runtime"),
  ];
}

/** What a new container will have that an operator checks first: its image, ports and mounts. */
function createdDiff(want: HostConfiguredContainer): DiffLine[] {
  const { image, ports = [], mounts = [] } = want.container.config;
  const each = (path: string, items: unknown[]) =>
    items.map((item, i): DiffLine => ({ op: "+", path: `${path}[${i}]`, after: JSON.stringify(item) }));
  return [...diffValues(undefined, image, "image"), ...each("ports", ports), ...each("mounts", mounts)];
}

/** The config as diffs show it: the identity fields and the in-place ones. */
function shownConfig(hcc: HostConfiguredContainer): unknown {
  return { ...canonicalConfig(hcc.container.config), ...inPlaceSettings(hcc.container.config) };
}

/** The runtime settings without registry credentials, of either runtime. */
function publicRuntime(hcc: HostConfiguredContainer): unknown {
  const { docker, kubelet } = hcc.container.runtime ?? {};
  if (docker !== undefined) {
    const { registryAuth: _secret, ...rest } = docker;
    return { docker: rest };
  }
  if (kubelet !== undefined) {
    const { registryAuth: _secret, ...rest } = kubelet;
    return { kubelet: rest };
  }
  return {};
}

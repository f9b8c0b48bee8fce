/**
 * Recovery of a lost state file: what berth created is found on the hosts
 * by its labels and recorded again, so the next plan neither creates
 * duplicates nor leaves containers behind.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { LABEL_CONFIG_HASH, LABEL_HELPER, LABEL_NAME, type ObservedContainer } from "../runtimes/runtime.ts";
import { configHash } from "../core/hash.ts";
import { DEFAULT_HOST_CONCURRENCY, mapLimit } from "./limit.ts";
import { listManaged } from "./observe.ts";
import { Session } from "./session.ts";
import { shortId } from "../core/container-id.ts";
import { isAsideName } from "../core/aside-name.ts";

/** Options of {@link recoverState}. */
export interface RecoverOptions {
  /** Cancels the hosts' listings when aborted; recovery then throws rather than return a partial state. */
  signal?: AbortSignal;
  /** Environment for secrets and SSH_AUTH_SOCK; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Warnings (e.g. an insecure host key policy). */
  log?: (message: string) => void;
  /** Hosts asked at once; default 16. */
  concurrency?: number;
  /**
   * Which berth containers not in the config are claimed (recorded, so the
   * next apply removes them); default all. Containers of other configs on
   * the same hosts carry the same labels: exclude them here.
   */
  claim?: (name: string) => boolean;
}

/** How a container found on a host was recorded. */
export type RecoveredKind =
  | "desired" // in the config, as configured
  | "changed" // in the config, but its configuration label differs: the next apply recreates it
  | "orphan" // not in the config: the next apply removes it
  | "aside"; // an old container an interrupted recreate set aside beside its name's holder: not recorded, the next apply finishes the recreate

/** One container found on a host and recorded. */
export interface RecoveredContainer {
  /** Key in the recovered state. */
  key: string;
  /** Container name on the host. */
  name: string;
  /** The host it was found on, as {@link hostLabel} names it. */
  host: string;
  /** Its container id. */
  id: string;
  /** Its status as the runtime reports it (`running`, `exited`, ...). */
  status: string;
  /** How it was recorded: as desired, as changed (recreated next), or as an orphan (removed next). */
  kind: RecoveredKind;
}

/** What {@link recoverState} found. */
export interface RecoveryResult {
  /** The state to persist. */
  state: ContainersState;
  /** Every container recorded (and every old one set aside, see `aside`), sorted by host and name. */
  found: RecoveredContainer[];
}

/**
 * Rebuilds the previous state from what the hosts of `desired` report: every
 * container labelled `berth.managed=true` (helpers excepted) is recorded,
 * under its desired entry when its name matches one on that host, else with
 * a minimal config (name, image) so the next apply removes it.
 *
 * @param desired The desired state (from the config); its hosts are asked.
 * @param options Signal, environment, logging, concurrency.
 * @returns The recovered state and what was found.
 * @throws {BerthError} When any host cannot be asked (code of the first
 *   failure, every host named): a partial state would leave containers behind.
 *
 * @example
 * ```ts
 * import { recoverState } from "./recover.ts";
 * import { fromYaml } from "./from-yaml.ts";
 * // The hosts of a config (here this machine's engine: DOCKER_HOST, else /var/run/docker.sock).
 * const desired = fromYaml(`
 * hosts: { local: { direct: {} } }
 * containers:
 *   web: { host: local, name: doc-example-recover, image: "berth-test:latest" }
 * `).desiredState();
 * // Only this config's containers: others on the same engine carry the same labels.
 * const { state, found } = await recoverState(desired, { claim: (name) => name.startsWith("doc-example-recover") });
 * console.log(found.filter((f) => f.kind === "orphan").map((f) => f.name));
 * if (Object.keys(state).length !== found.length) throw new Error("every container found is in the state");
 * ```
 */
export async function recoverState(desired: ContainersState, options: RecoverOptions = {}): Promise<RecoveryResult> {
  const session = new Session({
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  try {
    // One listing per host and engine; a desired entry stands for its engine's settings.
    const engines = new Map<string, HostConfiguredContainer>();
    for (const hcc of Object.values(desired)) {
      const key = JSON.stringify([hostKey(hcc.host), hcc.container.runtime ?? {}]);
      if (!engines.has(key)) engines.set(key, hcc);
    }
    const failures: BerthError[] = [];
    const listed: Array<{ via: HostConfiguredContainer; found: ObservedContainer }> = [];
    const seen = new Set<string>();
    await mapLimit([...engines.values()], options.concurrency ?? DEFAULT_HOST_CONCURRENCY, async (via) => {
      try {
        const runtime = await session.runtime(via, options.signal);
        const found = await listManaged(runtime, options.signal);
        for (const container of found) {
          // Two engine settings may name the same engine: count each container once.
          const key = `${hostKey(via.host)} ${container.id}`;
          if (container.labels[LABEL_HELPER] === "true" || seen.has(key)) continue;
          seen.add(key);
          listed.push({ via, found: container });
        }
      } catch (err) {
        failures.push(err instanceof BerthError ? err : new BerthError("ENGINE", String(err), { cause: err }));
      }
    });
    if (failures.length > 0) {
      throw new BerthError(
        failures[0]?.code ?? "CONNECT",
        `Cannot recover the state: ${failures.length} host(s) could not be asked, and a partial state would leave their containers behind:\n${
          failures.map((f) => `  ${f.message}`).join("\n")
        }`,
        { cause: failures[0] },
      );
    }
    const claim = options.claim ?? (() => true);
    return record(desired, listed.filter(({ found }) => claim(nameOf(found)) || isDesired(desired, found)));
  } finally {
    await session.close();
  }
}

function record(
  desired: ContainersState,
  listed: Array<{ via: HostConfiguredContainer; found: ObservedContainer }>,
): RecoveryResult {
  listed.sort((a, b) =>
    hostLabel(a.via.host).localeCompare(hostLabel(b.via.host)) || nameOf(a.found).localeCompare(nameOf(b.found)) ||
    a.found.id.localeCompare(b.found.id)
  );
  const state: ContainersState = {};
  const found: RecoveredContainer[] = [];
  const orphans: Array<{ via: HostConfiguredContainer; found: ObservedContainer }> = [];
  // An old container set aside (engine/aside.ts) takes its name's key only when nothing else holds it.
  const ordered = [
    ...listed.filter((e) => !isAsideName(e.found.name)),
    ...listed.filter((e) => isAsideName(e.found.name)),
  ];
  for (const entry of ordered) {
    const { via, found: c } = entry;
    const name = nameOf(c);
    const sameHost = Object.entries(desired).filter(([key, want]) =>
      !(key in state) && want.container.config.name === name && hostKey(want.host) === hostKey(via.host)
    );
    const match = sameHost.find(([, want]) =>
      JSON.stringify(want.container.runtime ?? {}) === JSON.stringify(via.container.runtime ?? {})
    ) ?? sameHost[0];
    if (match === undefined && isAsideName(c.name) && isDesired(desired, c)) {
      found.push({ key: name, name: c.name, host: hostLabel(via.host), id: c.id, status: c.status, kind: "aside" });
      continue;
    }
    if (match === undefined) {
      orphans.push(entry);
      continue;
    }
    const [key, want] = match;
    state[key] = { ...want, container: { ...want.container, status: { id: c.id, status: c.status } } };
    const changed = c.labels[LABEL_CONFIG_HASH] !== configHash(want.container.config, want.container.runtime);
    found.push({
      key,
      name,
      host: hostLabel(via.host),
      id: c.id,
      status: c.status,
      kind: changed ? "changed" : "desired",
    });
  }
  // Orphans last, so they never take a key a desired container needs.
  for (const { via, found: c } of orphans) {
    const name = nameOf(c);
    const key = name in state || name in desired ? `${name}.${shortId(c.id)}` : name;
    state[key] = {
      container: {
        config: { name, image: c.image },
        status: { id: c.id, status: c.status },
        ...(via.container.runtime === undefined ? {} : { runtime: via.container.runtime }),
      },
      host: via.host,
    };
    found.push({ key, name, host: hostLabel(via.host), id: c.id, status: c.status, kind: "orphan" });
  }
  found.sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name));
  return { state, found };
}

function isDesired(desired: ContainersState, c: ObservedContainer): boolean {
  return Object.values(desired).some((want) => want.container.config.name === nameOf(c));
}

/** The berth name of a container: its label, else its engine name. */
function nameOf(c: ObservedContainer): string {
  return c.labels[LABEL_NAME] ?? c.name;
}

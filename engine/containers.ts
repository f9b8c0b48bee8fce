/**
 * The containers resource: previous and desired state, and the
 * check -> plan -> apply cycle over them (libflexkube's `pkg/container` `Containers`).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { BerthError, withContext } from "../core/errors.ts";
import { digestOf, plainSecrets, sealContainer, sealState } from "../core/sensitive.ts";
import type { Containers, ContainersState, Host, HostConfiguredContainer, SSHConfig } from "../core/model.ts";
import { stateToYaml } from "../core/serialize.ts";
import { validateContainers, ValidationError } from "../core/validate.ts";
import { apply, type ApplyOptions, type ApplyResult } from "./apply.ts";
import type { PullProgress } from "../runtimes/docker/image.ts";
import { type Adopted, adoptUnrecorded } from "./adopt.ts";
import { assertBasisHolds, type PlanBasis, planBasis } from "./basis.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import { suggest } from "../core/suggest.ts";
import { type CheckOptions, listManaged, type Observation, observe, type ObservedState } from "./observe.ts";
import { type Plan, plan, type PlannedChange } from "./plan.ts";
import { type HostObjectRemoval, networkRemovals, removeHostObject, volumeRemovals } from "./host-objects.ts";
import { type HostConnection, Session } from "./session.ts";
import { idleHosts } from "./idle-hosts.ts";
import { signalOption } from "../core/signal.ts";
import { shortId } from "../core/container-id.ts";
import { compareForImport, type ImportResult } from "./import.ts";
import type { LogOptions, Runtime } from "../runtimes/runtime.ts";
import type { Rollout } from "../core/rollout.ts";
import { planRollout, withRolloutOf } from "./rollout.ts";

/** Options of a containers resource. */
export interface ContainersResourceOptions {
  /** Warnings (e.g. an insecure host key policy). */
  log?: (message: string) => void;
  /** Environment for secrets and SSH_AUTH_SOCK; default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * SSH settings for hosts that appear only in the previous state (whose
   * secrets were not recorded): merged under the recorded ones.
   */
  sshDefaults?: Partial<SSHConfig>;
  /** More settings for reaching hosts (e.g. from the config while destroying), after the desired state's. */
  hosts?: Host[];
  /**
   * Key of the digests that stand for sensitive values in the state and in
   * plans (core/sensitive.ts; the CLI's is `store/digest-key.ts`). Without
   * one, a random key of this resource is used: digests then differ from
   * run to run, so every secret plans as changed against a state written by another run.
   */
  digestKey?: Uint8Array;
  /** Hosts checked and worked on at once, unless a call says otherwise; default 64 per core, at most 256. */
  concurrency?: number;
  /**
   * One connection attempt per host: a refused connection or an unknown host name is reported at once
   * instead of retried until `retryTimeout` (what a plan or a status wants; an apply retries).
   */
  failFast?: boolean;
  /** Told the progress messages of image pulls during an apply, with the host's label. */
  onPullProgress?: (host: string, image: string, progress: PullProgress) => void;
  /**
   * The names declared under the config's `volumes:`: a volume the previous
   * state's containers mounted that is not among them is planned for removal.
   * Not given: no volume is removed.
   */
  volumes?: string[];
  /** Roll the changes out in batches of hosts (engine/rollout.ts); all hosts at once when not given. */
  rollout?: Rollout;
  /** The names declared under the config's `networks:`, likewise for networks the previous state's containers joined. */
  networks?: string[];
}

/** A plan together with the basis it was made on. */
export interface PlanWithBasis extends Plan {
  /** Fingerprints of what the plan was made from: a saved plan is applied only while they hold. */
  basis: PlanBasis;
}

/**
 * Previous and desired state of a set of containers, and the cycle that
 * makes the hosts match the desired state.
 *
 * @example
 * ```ts
 * import { ContainersResource } from "./containers.ts";
 * // On this machine's engine (DOCKER_HOST, else /var/run/docker.sock); berth-test:latest is the quickstart's image.
 * const resource = new ContainersResource({ desiredState: { web: {
 *   container: { config: { name: "doc-example-web", image: "berth-test:latest", init: true, args: ["sleep", "3600"] } },
 *   host: { directConfig: {} },
 * } } });
 * try {
 *   await resource.checkCurrentState();
 *   if (resource.plan().summary.create !== 1) throw new Error("expected one container to create");
 *   await resource.deploy();
 *   console.log(resource.stateToYaml());
 * } finally {
 *   await resource.close();
 * }
 * // An empty desired state removes what the previous state holds.
 * const removal = new ContainersResource({ previousState: resource.currentState() });
 * try {
 *   if ((await removal.deploy()).results.length !== 1) throw new Error("expected one removal");
 * } finally {
 *   await removal.close();
 * }
 * ```
 */
export class ContainersResource {
  /** As given, plus containers adopted by a check. */
  #previous: ContainersState;
  readonly #desired: ContainersState;
  /** The desired state with its secrets as digests: what is planned, hashed and recorded. */
  readonly #sealed: ContainersState;
  readonly #key: Uint8Array;
  readonly #session: Session;
  readonly #concurrency: { concurrency?: number };
  #adopted: Adopted[] = [];
  readonly #volumes: string[] | undefined;
  readonly #rollout: Rollout | undefined;
  readonly #networks: string[] | undefined;
  #current: ContainersState | undefined;
  #observed: ObservedState | undefined;
  /** The last plan and the check it was made from. */
  #planned: { observed: ObservedState; plan: PlanWithBasis } | undefined;

  /**
   * Validates the document.
   *
   * @throws {ValidationError} Listing every problem, each with its path.
   */
  constructor(doc: Containers, options: ContainersResourceOptions = {}) {
    const problems = validateContainers(doc);
    if (problems.length > 0) throw new ValidationError(problems);
    this.#desired = doc.desiredState ?? {};
    this.#key = options.digestKey ?? randomBytes(32);
    this.#sealed = sealState(this.#desired, this.#key);
    const given = doc.previousState ?? {};
    const plain = plainSecrets(given, this.#desired);
    if (plain.length > 0) {
      options.log?.(
        `the state holds ${plain.length} sensitive value(s) in plain text (${
          plain.join(", ")
        }), written by an earlier berth: apply rewrites it with digests only`,
      );
    }
    this.#previous = sealState(given, this.#key, this.#desired);
    const reachable = new Map<string, Host>();
    for (const host of [...Object.values(this.#desired).map((h) => h.host), ...(options.hosts ?? [])]) {
      if (!reachable.has(hostKey(host))) reachable.set(hostKey(host), host);
    }
    this.#concurrency = options.concurrency === undefined ? {} : { concurrency: options.concurrency };
    this.#volumes = options.volumes;
    this.#rollout = options.rollout;
    this.#networks = options.networks;
    const defaults = options.sshDefaults ?? {};
    this.#session = new Session({
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.onPullProgress === undefined ? {} : { onPullProgress: options.onPullProgress }),
      ...(options.failFast === undefined ? {} : { failFast: options.failFast }),
      reach: (host) =>
        reachable.get(hostKey(host)) ??
          (host.sshConfig === undefined ? host : { sshConfig: { ...defaults, ...host.sshConfig } }),
    });
  }

  /** The previous state as given. */
  get previousState(): ContainersState {
    return this.#previous;
  }

  /**
   * The desired state, with ids filled in from the previous state and status
   * `running`, to minimise the difference when comparing with it.
   */
  desiredState(): ContainersState {
    return Object.fromEntries(
      Object.entries(this.#sealed).map(([name, hcc]) => {
        const id = this.#previous[name]?.container.status?.id;
        const status = id === undefined ? undefined : { id, status: "running" };
        return [name, { ...hcc, container: { ...hcc.container, ...(status === undefined ? {} : { status }) } }];
      }),
    );
  }

  /**
   * Asks every host for the live status of every container and the content
   * of its config files. Unreachable hosts are recorded, not thrown.
   *
   * @returns What the hosts reported, by container name.
   */
  async checkCurrentState(options: CheckOptions = {}): Promise<ObservedState> {
    let observed = this.#sealObserved(
      await observe(this.#previous, this.#desired, this.#session, { ...this.#concurrency, ...options }),
    );
    const { previous, adopted } = adoptUnrecorded(this.#previous, this.#sealed, observed);
    this.#adopted = adopted;
    if (adopted.length > 0) {
      this.#previous = previous;
      const names = new Set(adopted.map((a) => a.name));
      const only = (state: ContainersState) => Object.fromEntries(Object.entries(state).filter(([n]) => names.has(n)));
      // Asked again as recorded containers: their files and mounts are compared like any other's.
      observed = {
        ...observed,
        ...this.#sealObserved(
          await observe(only(previous), only(this.#desired), this.#session, { ...this.#concurrency, ...options }),
        ),
      };
    }
    this.#observed = observed;
    this.#current = Object.fromEntries(
      Object.entries(this.#previous).map(([name, hcc]): [string, HostConfiguredContainer] => {
        const status = observed[name]?.status;
        return [
          name,
          status === undefined || observed[name]?.error !== undefined
            ? hcc
            : { ...hcc, container: { ...hcc.container, status } },
        ];
      }),
    );
    return observed;
  }

  /**
   * Containers the last check found created by berth but not recorded (same
   * labels and configuration hash): taken into the state as they are.
   */
  adopted(): Adopted[] {
    return this.#adopted;
  }

  /**
   * The changes that would make the hosts match the desired state.
   *
   * @throws {BerthError} `STATE` when `checkCurrentState()` has not run.
   */
  plan(): PlanWithBasis {
    const observed = this.#requireChecked();
    // The plan follows from the check alone (a new one, or a changed recorded state, replaces #observed):
    // apply() after plan() does not compute it twice.
    if (this.#planned?.observed === observed) return this.#planned.plan;
    const containers = planRollout(plan(this.#sealed, this.#previous, observed), this.#sealed, this.#rollout);
    const volumes = volumeRemovals(this.#previous, this.#volumes);
    const networks = networkRemovals(this.#previous, this.#networks);
    const planned = {
      ...containers,
      ...(volumes.length > 0 && { volumes, empty: false }),
      ...(networks.length > 0 && { networks, empty: false }),
    } as PlanWithBasis;
    // The basis hashes everything the plan was made from (0.3 s at 10,000 containers) and is read only to save
    // the plan or to apply a saved one: made on first read, from the inputs as they are now (apply reads it
    // before it changes anything); not enumerable, so a copy made to show the plan does not make it.
    const [previous, sealed] = [this.#previous, this.#sealed];
    let basis: PlanBasis | undefined;
    Object.defineProperty(planned, "basis", { get: () => (basis ??= planBasis(previous, sealed, observed)) });
    this.#planned = { observed, plan: planned };
    return planned;
  }

  /**
   * Applies a plan: the one given (refused with `PLAN_STALE` when its basis
   * no longer holds), or a fresh one. Per-container failures are in the
   * result, not thrown.
   */
  async apply(options: ApplyOptions & { plan?: PlanWithBasis } = {}): Promise<ApplyResult> {
    let fresh = this.plan();
    if (options.plan !== undefined) assertBasisHolds(options.plan.basis, fresh.basis);
    if (options.plan !== undefined) fresh = withRolloutOf(fresh, options.plan);
    const key = this.#key;
    for (const host of idleHosts(fresh, this.#previous, this.#desired)) this.#session.release(host);
    const result = await apply(fresh, this.#desired, this.#current as ContainersState, this.#session, {
      ...this.#concurrency,
      ...options,
      seal: (hcc) => sealContainer(hcc, key),
    });
    await this.#removeHostObjects("volume", fresh.volumes ?? [], result, options);
    await this.#removeHostObjects("network", fresh.networks ?? [], result, options);
    this.#current = result.state;
    // What was observed no longer holds: the next plan needs a new check.
    this.#observed = undefined;
    return result;
  }

  /**
   * Checks, plans and applies in one go (libflexkube's `Deploy`).
   *
   * @throws {BerthError} When any change failed; the state reached is in `stateToYaml()`.
   */
  async deploy(options: ApplyOptions = {}): Promise<ApplyResult> {
    if (this.#observed === undefined) await this.checkCurrentState();
    const result = await this.apply(options);
    const failures = result.results.filter((r) => !r.ok);
    if (failures.length > 0) {
      throw new BerthError(
        failures[0]?.error?.code ?? "ENGINE",
        failures.map((f) => f.error?.message ?? `${f.action} ${f.name}: not done`).join("\n"),
        {
          cause: failures[0]?.error,
        },
      );
    }
    return result;
  }

  /** The state that is true on the hosts now (after a check or an apply). */
  currentState(): ContainersState {
    return this.#current ?? this.#previous;
  }

  /**
   * What a container of the state has printed so far, read from its runtime
   * (also after it exited).
   *
   * @param name The container's name in the state.
   * @param options `tail`: only the last lines (counted over both streams); `since`: only what was printed from
   *   then on; `timestamps`: each line starts with its time.
   * @returns Its stdout and stderr text.
   * @throws {BerthError} `NOT_FOUND` when the name is not in the state or the container was not created;
   *   `VALIDATION` when its runtime cannot read logs; the runtime's error otherwise.
   */
  async logs(
    name: string,
    options: LogOptions = {},
  ): Promise<{ stdout: string; stderr: string }> {
    const { runtime, id, host } = await this.#logSource(name, options.signal);
    if (runtime.logs === undefined) {
      throw new BerthError("VALIDATION", `Container "${name}" on host ${host}: its runtime cannot read logs`, {
        container: name,
        host,
      });
    }
    try {
      return await runtime.logs(id, options);
    } catch (err) {
      throw withContext(err, `container "${name}"`);
    }
  }

  /**
   * A container's output as it prints it, until it stops or `options.signal` aborts (`berth logs -f`).
   *
   * @param onOutput Told each piece of output, by stream, as it arrives.
   * @throws {BerthError} As {@link logs}; `VALIDATION` when its runtime cannot follow output.
   */
  async followLogs(
    name: string,
    onOutput: (stream: "stdout" | "stderr", text: string) => void,
    options: LogOptions = {},
  ): Promise<void> {
    const { runtime, id, host } = await this.#logSource(name, options.signal);
    if (runtime.followLogs === undefined) {
      throw new BerthError(
        "VALIDATION",
        `Container "${name}" on host ${host}: its runtime cannot follow output (CRI log files are read through a ` +
          `helper container); run "berth logs ${name} --since 1m" instead`,
        { container: name, host },
      );
    }
    try {
      await runtime.followLogs(id, onOutput, options);
    } catch (err) {
      throw withContext(err, `container "${name}"`);
    }
  }

  /** The runtime and id of a container of the state, for its logs. */
  async #logSource(name: string, signal?: AbortSignal): Promise<{ runtime: Runtime; id: string; host: string }> {
    const state = this.currentState();
    const hcc = state[name];
    if (hcc === undefined) {
      const known = [...new Set([...Object.keys(state), ...Object.keys(this.#desired)])];
      const close = suggest(name, known);
      const hint = name in this.#desired
        ? ": it is configured but not created yet (run apply)"
        : close === undefined
        ? ""
        : `: did you mean "${close}"?`;
      throw new BerthError("NOT_FOUND", `No container "${name}" in the state${hint}`, { container: name });
    }
    const id = hcc.container.status?.id;
    const host = hostLabel(hcc.host);
    if (id === undefined) {
      throw new BerthError("NOT_FOUND", `Container "${name}" on host ${host} was not created: run apply`, {
        container: name,
        host,
      });
    }
    const runtime = await this.#session.runtime(hcc, signal);
    // Like every run that reaches a host, this one removes file helpers a killed run left there.
    await listManaged(runtime, signal).catch(() => {});
    return { runtime, id, host };
  }

  /**
   * Takes the container holding a desired name on its host, made outside
   * berth (or not recorded), into the state without touching it (see
   * engine/import.ts): recorded with the desired config when the engine's
   * settings match it, else with the settings found, so the next plan
   * recreates it. Call it before `checkCurrentState()`.
   *
   * @param name A container of the config.
   * @returns What was found and how it differs from the config.
   * @throws {BerthError} `NOT_FOUND` for a name not in the config (did-you-mean) or no container on the host;
   *   `VALIDATION` when the state already records a live container for it, or the runtime cannot read settings back.
   */
  async importContainer(name: string, options: { signal?: AbortSignal } = {}): Promise<ImportResult> {
    const want = this.#sealed[name];
    if (want === undefined) {
      const close = suggest(name, Object.keys(this.#sealed));
      throw new BerthError(
        "NOT_FOUND",
        `No container "${name}" in the config${close === undefined ? ": add it first" : `: did you mean "${close}"?`}`,
        { container: name },
      );
    }
    const host = hostLabel(want.host);
    const was = this.#previous[name];
    const recorded = was?.container.status?.id;
    if (recorded !== undefined && hostKey(was?.host as Host) !== hostKey(want.host)) {
      // Replacing the entry would lose the container recorded on the other host.
      throw new BerthError(
        "VALIDATION",
        `"${name}" is in the state on host ${hostLabel(was?.host as Host)} (container ${shortId(recorded)}), ` +
          `and the config moves it to ${host}: run "berth apply" to move it instead`,
        { container: name, host },
      );
    }
    const runtime = await this.#session.runtime(want, options.signal);
    if (recorded !== undefined && (await runtime.inspect(recorded, signalOption(options.signal))) !== undefined) {
      throw new BerthError(
        "VALIDATION",
        `"${name}" is already in the state (container ${shortId(recorded)} on host ${host}): nothing to import`,
        { container: name, host },
      );
    }
    const wanted = want.container.config.name;
    const found = await runtime.inspect(wanted, signalOption(options.signal));
    if (found === undefined) {
      throw new BerthError(
        "NOT_FOUND",
        `No container named "${wanted}" on host ${host} to import: "berth apply" creates it`,
        { container: name, host },
      );
    }
    if (found.readBack === undefined) {
      throw new BerthError(
        "VALIDATION",
        `Cannot import "${name}" on host ${host}: its runtime cannot read a container's settings back to compare ` +
          `them with the config; remove container ${shortId(found.id)} and let "berth apply" create it`,
        { container: name, host },
      );
    }
    const key = this.#key;
    const { diff, notCompared, record } = compareForImport(
      want,
      this.#desired[name]?.container.config.env ?? {},
      found.readBack.config,
      found.readBack.compared,
      (value) => digestOf(value, key),
    );
    const status = { id: found.id, status: found.status };
    this.#previous = {
      ...this.#previous,
      [name]: { ...want, container: { ...want.container, config: record, status } },
    };
    this.#current = undefined;
    this.#observed = undefined;
    return { name, host, ...status, diff, notCompared };
  }

  /** The current state as YAML, without secrets (digests of this resource's key instead), ready to be persisted. */
  stateToYaml(): string {
    return stateToYaml(this.currentState(), { digestKey: this.#key });
  }

  /** Previous (current) and desired state as plain data, sensitive values as digests. */
  toExported(): Containers {
    return { previousState: this.currentState(), desiredState: this.#sealed };
  }

  /** The hosts this run connected to, and how many SSH handshakes each took. */
  connections(): Promise<HostConnection[]> {
    return this.#session.connections();
  }

  /** Closes the connections to the hosts. Returns what failed to close (host named), never throws. */
  close(): Promise<Error[]> {
    return this.#session.close();
  }

  /** Host file contents of sensitive config files as digests, so they are compared (and fingerprinted) without the value. */
  #sealObserved(observed: ObservedState): ObservedState {
    return Object.fromEntries(
      Object.entries(observed).map(([name, seen]) => {
        // The host's env: the sensitive values as digests (for drift), the rest dropped.
        const { env: hostEnv, ...rest } = seen;
        const o: Observation = rest;
        const secretEnv = [
          ...new Set([...(this.#desired[name]?.sensitive?.env ?? []), ...(this.#previous[name]?.sensitive?.env ?? [])]),
        ];
        if (hostEnv !== undefined && secretEnv.length > 0) {
          o.env = Object.fromEntries(
            secretEnv.filter((k) => hostEnv[k] !== undefined).map((
              k,
            ) => [k, digestOf(hostEnv[k] as string, this.#key)]),
          );
        }
        const secret = new Set([
          ...(this.#desired[name]?.sensitive?.configFiles ?? []),
          ...(this.#previous[name]?.sensitive?.configFiles ?? []),
        ]);
        if (secret.size === 0) return [name, o];
        const files = Object.fromEntries(
          Object.entries(o.files).map(([p, c]) => [p, c === null || !secret.has(p) ? c : digestOf(c, this.#key)]),
        );
        return [name, { ...o, files }];
      }),
    );
  }

  /** After the containers' changes (so none of berth's still uses them): each result and event like a container's. */
  async #removeHostObjects(
    kind: "volume" | "network",
    removals: HostObjectRemoval[],
    result: ApplyResult,
    options: ApplyOptions,
  ): Promise<void> {
    for (const removal of removals) {
      const change: PlannedChange = {
        name: `${kind} ${removal.name}`,
        action: "remove",
        host: removal.host,
        reasons: [removal.warning],
        diff: [],
        files: [],
        directories: [],
      };
      if (options.stopSignal?.aborted === true) {
        options.onEvent?.({ type: "skipped", change });
        result.failed++;
        continue;
      }
      options.onEvent?.({ type: "begin", change });
      const started = Date.now();
      try {
        await removeHostObject(kind, removal, this.#previous, this.#session);
        const durationMs = Date.now() - started;
        result.results.push({ name: change.name, action: "remove", host: removal.host, ok: true, durationMs });
        options.onEvent?.({ type: "done", change, durationMs });
      } catch (err) {
        const error = err as BerthError;
        const durationMs = Date.now() - started;
        result.results.push({ name: change.name, action: "remove", host: removal.host, ok: false, durationMs, error });
        result.failed++;
        options.onEvent?.({ type: "failed", change, durationMs, error });
      }
    }
  }

  #requireChecked(): ObservedState {
    if (this.#observed === undefined) {
      throw new BerthError("STATE", "Cannot plan before checkCurrentState() has run: call it first");
    }
    return this.#observed;
  }
}

/**
 * The CLI commands as functions: each returns its exit code.
 * 0 success (plan: nothing to do), 2 plan has changes, 1 error, 130 interrupted.
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import { leanHeap } from "./heap.ts";
import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type BerthConfig, configFromDocument } from "../core/config.ts";
import { validateContainers, ValidationError } from "../core/validate.ts";
import { BerthError } from "../core/errors.ts";
import type { ContainersState } from "../core/model.ts";
import { decodeUtf8, parseDocument } from "../core/serialize.ts";
import type { StateFormat } from "../core/state-format.ts";
import { applySucceeded } from "../engine/apply.ts";
import type { Adopted } from "../engine/adopt.ts";
import { ContainersResource } from "../engine/containers.ts";
import { rollbackState } from "../engine/rollback.ts";
import { hostLabel } from "../core/host.ts";
import type { StateBackend } from "../store/backend.ts";
import { readPlanFile, writePlanFile } from "../store/plan-file.ts";
import { digestKeyFor } from "./digest-key.ts";
import { interruptibleAtOnce, onInterrupt } from "./interrupt.ts";
import type { PullProgress } from "../runtimes/docker/image.ts";
import { type ProgressMode, progressOn } from "./progress.ts";
import { type CliIO, confirm } from "./io.ts";
import { type GroupedLog, groupedLog } from "./host-warnings.ts";
import { countLine, formatHostSummary, formatPlan, formatSummary, formatTable, styleFor } from "./output.ts";
import { lockedBackend, withBackend } from "./state-backend.ts";
import { shortId } from "../core/container-id.ts";
import { blockedChanges } from "../engine/plan.ts";
import { displayEvent, displayPlan, displayResult, hostDisplay, type HostNames, hostNamesOf } from "./host-names.ts";
import { publicEvent, publicPlan, publicResult, writeJson, writeJsonLine } from "./json-output.ts";
import { selectContainers, type Selection } from "./targets.ts";
import { formatBatchStart, refuseRolloutFlags, type RolloutFlags, rolloutOf } from "./rollout.ts";
import { checkGraphOptions, type GraphOptions, writePlanGraph } from "./plan-graph.ts";

/** Options shared by the commands. */
export interface GlobalOptions {
  config: string;
  /** A state file, or `etcd://host1:2379,host2:2379/prefix`. */
  state: string;
  /** Whether --config / --state were given (else the config's `backend:` may choose). */
  configGiven?: boolean;
  stateGiven?: boolean;
  /** How long to wait for another run's lock, in ms; default 0 (refuse at once). */
  lockTimeout?: number;
  json?: boolean;
  /** Also tell which hosts were reached and with how many SSH handshakes. */
  verbose?: boolean;
  /** Hosts checked and worked on at once (default: what the machine can do). */
  concurrency?: number;
  /** The layout of a new state file (`--state-format`); an existing one keeps its own. */
  stateFormat?: StateFormat;
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_CHANGES = 2;
export const EXIT_INTERRUPTED = 130;

/** `berth validate`: config (and state, when present) parse and validate. */
export async function validateCommand(io: CliIO, opts: GlobalOptions): Promise<number> {
  // What validate reads stays live to the end (no host to reach): collecting sooner (cli/heap.ts) only costs CPU,
  // 2x the time of a 100k-container validate for 10% less memory.
  leanHeap(false);
  const config = await loadConfig(io, opts);
  const desired = config.desiredState;
  const loaded = await withBackend(io, opts, (backend) => backend.read());
  // As `plan` reads them: a flexkube document's recorded state counts until the state file exists.
  const previous = loaded.existed ? loaded.state : config.previousState ?? {};
  // configFromDocument checked the config's containers (and a flexkube document's recorded ones), the backend
  // those of the state it read: of what a ContainersResource would check again (a fifth of a 100k-container
  // validate), only "not both empty" is left.
  const count = Object.keys(desired).length;
  if (count === 0) {
    const problems = validateContainers({ desiredState: desired, previousState: previous });
    if (problems.length > 0) throw new ValidationError(problems);
  }
  const hosts = new Set(Object.values(desired).map((h) => hostLabel(h.host)));
  if (opts.json) writeJson(io, { valid: true, containers: count, hosts: hosts.size });
  else {io.stdout.write(
      `${opts.config} is valid: ${count} containers on ${hosts.size} hosts${
        count === 0 ? ` (${Object.keys(previous).length} recorded in the state)` : ""
      }.\n`,
    );}
  return EXIT_OK;
}

/** `berth plan`: check and show the changes; `--out` saves them for `berth apply FILE`. */
export async function planCommand(
  io: CliIO,
  opts: GlobalOptions & Selection & RolloutFlags & GraphOptions & { out?: string },
): Promise<number> {
  checkGraphOptions(opts);
  if (opts.graphFile !== undefined) refuseInputAsOutput(io, opts, opts.graphFile, "--graph-file");
  if (opts.out !== undefined) refuseInputAsOutput(io, opts, opts.out);
  if (opts.out !== undefined) refuseSelection(opts, "--out saves a plan of every container");
  const resource = await openResource(io, { ...opts, failFast: true });
  try {
    await resource.checkCurrentState({ closeEachHost: true });
    if (!opts.json) io.stdout.write(formatAdopted(resource.adopted(), HOST_NAMES.get(resource) ?? new Map()));
    const plan = resource.plan();
    if (opts.out !== undefined) await writePlanFile(path(io, opts.out), plan);
    const names = HOST_NAMES.get(resource) ?? new Map();
    const graphFile = opts.graphFile === undefined ? undefined : path(io, opts.graphFile);
    // With --graph and no --graph-file, the graph is all stdout carries (`berth plan --graph dot | dot -Tsvg`).
    const graphed = await writePlanGraph(displayPlan(names, plan), opts, graphFile, io.stdout);
    if (graphed) io.stderr.write(`Plan: ${plan.empty ? "no changes" : countLine(plan.summary)}.\n`);
    else if (opts.json) writeJson(io, { plan: publicPlan(plan, (h) => names.get(h) ?? h) });
    else io.stdout.write(`${formatPlan(displayPlan(names, plan), styleFor(io.stdout, io.env))}\n`);
    if (opts.out !== undefined && !opts.json && !graphed) {
      io.stdout.write(`Saved the plan to ${opts.out}: apply it with "berth apply ${opts.out}".\n`);
    }
    // A blocked entry (a host unreachable, a changed host key) is not ordinary drift: scripts see 1.
    const blocked = blockedChanges(plan);
    for (const c of blocked) {
      io.stderr.write(
        `berth: ${c.name} on host ${hostDisplay(names, c.host)} is blocked: ${c.reasons.join("; ") || "blocked"}\n`,
      );
    }
    if (blocked.length > 0) return EXIT_ERROR;
    return plan.empty ? EXIT_OK : EXIT_CHANGES;
  } finally {
    await closeResource(io, resource, opts);
  }
}

/** `berth apply [PLAN]`, `berth destroy` and `berth rollback [NAME...]`: plan, confirm, apply, persist after every step. */
export async function applyCommand(
  io: CliIO,
  opts:
    & GlobalOptions
    & Selection
    & RolloutFlags
    & { yes?: boolean; planFile?: string; destroy?: boolean; progress?: ProgressMode }
    & RollbackOption,
): Promise<number> {
  leanHeap(false); // see cli/heap.ts
  if (opts.planFile !== undefined) refuseSelection(opts, "a saved plan already names its changes");
  if (opts.planFile !== undefined) refuseRolloutFlags(opts);
  const style = styleFor(io.stdout, io.env);
  const errStyle = styleFor(io.stderr, io.env);
  const given = io; // the confirmation question needs the real stderr stream
  const progress = progressOn(io, opts.progress, style);
  io = progress.io;
  const saved = opts.planFile === undefined ? undefined : await readPlanFile(path(io, opts.planFile));
  if (!opts.yes && saved === undefined && io.stdin.isTTY !== true) {
    throw new BerthError(
      "VALIDATION",
      `Refusing to ${
        opts.destroy ? "destroy" : "apply"
      } without confirmation: there is no terminal to ask. Pass --yes, or apply a reviewed plan file.`,
    );
  }
  const { backend, lock } = await lockedBackend(
    io,
    opts,
    opts.destroy ? "berth destroy" : opts.rollback !== undefined ? "berth rollback" : "berth apply",
    (m) => warn(io, m),
  );
  let resource: ContainersResource | undefined;
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) {
      // A second interrupt: leave now. Every finished step is already in the state; a
      // container created but not yet recorded carries berth's labels and is adopted next run.
      const leave = () => process.exit(EXIT_INTERRUPTED);
      void lock.release().finally(leave);
      setTimeout(leave, 1000); // an etcd lock not freed in time expires with its lease
      return;
    }
    io.stderr.write(
      `${
        errStyle.yellow(
          "Interrupted: finishing the steps in flight, then saving the state (interrupt again to leave at once).",
        )
      }\n`,
    );
    stop.abort();
  };
  const stopRouting = onInterrupt(onSigint);
  try {
    let names: HostNames = new Map();
    const onPullProgress = (host: string, image: string, p: PullProgress) =>
      progress.pull(hostDisplay(names, host), image, p);
    resource = await openResource(io, opts.json ? opts : { ...opts, onPullProgress }, opts.destroy === true, backend);
    names = HOST_NAMES.get(resource) ?? names;
    await resource.checkCurrentState();
    if (!opts.json) io.stdout.write(formatAdopted(resource.adopted(), names));
    const plan = resource.plan();
    const name = (h: string) => names.get(h) ?? h;
    // --json: NDJSON, a line with the plan, a line per event, a summary line.
    if (opts.json) writeJsonLine(io, { type: "plan", plan: publicPlan(plan, name) });
    else io.stdout.write(`${formatPlan(displayPlan(names, plan), style)}\n`);
    if (!plan.empty && !opts.yes && saved === undefined) {
      const question = opts.destroy
        ? "Remove these containers?"
        : opts.rollback !== undefined
        ? "Roll back these containers?"
        : "Apply these changes?";
      if (!(await confirm(given, question))) {
        io.stderr.write("Nothing was changed.\n");
        return EXIT_ERROR;
      }
    }
    const started = performance.now();
    const stopSignal = AbortSignal.any([stop.signal, lock.lost]);
    // Every host's requests in flight listen to it: no "possible memory leak" warning at 11 of them.
    setMaxListeners(0, stopSignal);
    const result = await resource.apply({
      ...(saved === undefined ? {} : { plan: saved.plan }),
      // A lost lock (an etcd lease that expired) stops the run before its next step, like an interrupt.
      stopSignal,
      onState: (state: ContainersState) =>
        backend.write({ ...UNTOUCHED.get(resource as ContainersResource), ...state }),
      onEvent: (event) =>
        opts.json ? writeJsonLine(io, publicEvent(event, name)) : progress.event(displayEvent(names, event)),
      onBatch: (batch) => {
        if (opts.json || opts.progress === "quiet") return;
        progress.clear();
        io.stdout.write(`${formatBatchStart(batch, (h) => hostDisplay(names, h), style)}\n`);
      },
    });
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    if (opts.json) {
      const ok = applySucceeded(result) && !lock.lost.aborted;
      writeJsonLine(io, { type: "summary", ok, durationMs: seconds * 1000, result: publicResult(result, name) });
    } else if (!plan.empty) io.stdout.write(`${formatSummary(result, seconds, style)}\n`);
    if (lock.lost.aborted) throw lock.lost.reason;
    if (result.interrupted) return EXIT_INTERRUPTED;
    if (applySucceeded(result)) return EXIT_OK;
    if (!opts.json) {
      io.stderr.write(`${formatHostSummary(displayPlan(names, plan), displayResult(names, result), errStyle)}\n`);
    }
    return EXIT_ERROR;
  } finally {
    progress.stop();
    if (resource !== undefined) await closeResource(io, resource, opts);
    await lock.release();
    await backend.close();
    stopRouting();
  }
}

/** `berth status`: a table of containers per host with their live status. */
export async function statusCommand(io: CliIO, opts: GlobalOptions): Promise<number> {
  const resource = await openResource(io, { ...opts, failFast: true });
  try {
    const observed = await resource.checkCurrentState({ closeEachHost: true });
    const desired = resource.desiredState();
    const names = HOST_NAMES.get(resource) ?? new Map();
    const rows = Object.entries({ ...desired, ...resource.previousState }).sort(([a], [b]) => a.localeCompare(b)).map(
      ([name, hcc]) => {
        const o = observed[name];
        const status = o?.error !== undefined
          ? `unreachable: ${o.error}`
          : o?.status?.status ?? (name in resource.previousState ? "not created" : "not deployed");
        const host = hostLabel(hcc.host);
        return {
          host,
          hostName: names.get(host) ?? host,
          name,
          status,
          id: o?.status === undefined ? "" : shortId(o.status.id),
          image: hcc.container.config.image,
        };
      },
    ).sort((a, b) => a.hostName.localeCompare(b.hostName) || a.name.localeCompare(b.name));
    if (opts.json) writeJson(io, { containers: rows });
    else {io.stdout.write(
        `${
          formatTable(
            ["HOST", "ADDRESS", "NAME", "STATUS", "ID", "IMAGE"],
            rows.map((r) => [r.hostName, r.host, r.name, r.status, r.id, r.image]),
          )
        }\n`,
      );}
    return rows.some((r) => r.status.startsWith("unreachable")) ? EXIT_ERROR : EXIT_OK;
  } finally {
    await closeResource(io, resource, opts);
  }
}

/**
 * Config + state -> resource. For destroy the desired state is empty and the
 * config (when there is one) only says how to reach the hosts.
 */
export async function openResource(
  io: CliIO,
  opts: GlobalOptions & Selection & RolloutFlags & RollbackOption & {
    /** Report a refused connection or an unknown host at once (plan, status): no retries. */
    failFast?: boolean;
    onPullProgress?: (host: string, image: string, progress: PullProgress) => void;
  },
  destroy = false,
  backend?: StateBackend,
): Promise<ContainersResource> {
  const config: LoadedConfig = destroy
    ? await loadConfig(io, opts).catch(() => ({ desiredState: {}, hostNames: new Map() }))
    : await loadConfig(io, opts);
  let desired = destroy ? {} : config.desiredState;
  const loaded = backend === undefined ? await withBackend(io, opts, (b) => b.read()) : await backend.read();
  // A flexkube document may carry its recorded state; state.yaml wins once it exists.
  const previous = loaded.existed ? loaded.state : config.previousState ?? {};
  for (const w of loaded.warnings) warn(io, w);
  if (Object.keys(desired).length === 0 && Object.keys(previous).length === 0) {
    throw new BerthError(
      "VALIDATION",
      destroy
        ? `Nothing to destroy: the state "${opts.state}" is empty`
        : `${opts.config}: no containers are declared and the state is empty: add containers to the config`,
    );
  }
  const digestKey = await digestKeyFor(io, opts, desired, previous);
  // A rollback's desired state: the named containers' previous generations; the rest of the state stays as it is.
  if (opts.rollback !== undefined) desired = rollbackState(previous, desired, opts.rollback, digestKey);
  const selected = selectContainers(
    desired,
    previous,
    config.hostNames,
    opts.rollback === undefined ? opts : { ...opts, target: Object.keys(desired) },
  );
  if (Object.keys(selected.desired).length === 0 && Object.keys(selected.previous).length === 0) {
    throw new BerthError("VALIDATION", "--target/--host select no container: name one of the config or the state");
  }
  const log = groupedLog((m) => warn(io, m));
  const rollout = destroy ? undefined : rolloutOf(config, config.hostNames, opts);
  const resource = new ContainersResource(
    { desiredState: selected.desired, previousState: selected.previous },
    {
      env: io.env,
      hosts: Object.values(config.desiredState).map((h) => h.host),
      log: log.log,
      ...(config.volumes === undefined ? {} : { volumes: config.volumes }),
      ...(config.networks === undefined ? {} : { networks: config.networks }),
      ...(digestKey === undefined ? {} : { digestKey }),
      ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      ...(rollout === undefined ? {} : { rollout }),
      ...(opts.failFast === undefined ? {} : { failFast: opts.failFast }),
      ...(opts.onPullProgress === undefined ? {} : { onPullProgress: opts.onPullProgress }),
    },
  );
  hostLogs.set(resource, log);
  HOST_NAMES.set(resource, config.hostNames);
  UNTOUCHED.set(resource, selected.untouched);
  return resource;
}

/** `berth rollback [NAME...]`: the names (empty: every container with a previous generation). */
export interface RollbackOption {
  rollback?: string[];
}

/** The held-back host warnings of each open resource, printed when it closes. */
const hostLogs = new WeakMap<ContainersResource, GroupedLog>();

/** The config's host names of each opened resource (see host-names.ts). */
export const HOST_NAMES: WeakMap<ContainersResource, HostNames> = new WeakMap();

/** The state entries `--target`/`--host` left out of each opened resource: written back as they were. */
const UNTOUCHED: WeakMap<ContainersResource, ContainersState> = new WeakMap();

/** A config with the names its hosts have in the document. */
export type LoadedConfig = BerthConfig & { hostNames: HostNames };

/** One line per container taken into the state as it was found. */
function formatAdopted(adopted: Adopted[], names: HostNames): string {
  return adopted.map((a) =>
    `Adopted "${a.name}" (${shortId(a.id)}) on host ${
      hostDisplay(names, a.host)
    }: berth created it with this configuration but did not record it (a state write failed, or berth was stopped).\n`
  ).join("");
}

/** Prints a warning on stderr (yellow on a terminal). */
export function warn(io: CliIO, message: string): void {
  // A message that brings its own prefix (`WARNING: ...`) is not prefixed twice.
  const text = message.replace(/^warning:\s*/i, "");
  io.stderr.write(`${styleFor(io.stderr, io.env).yellow(`warning: ${text}`)}\n`);
}

/** `--out` naming the state, its lock or the config would overwrite what berth reads: refused before anything runs. */
function refuseInputAsOutput(io: CliIO, opts: GlobalOptions, out: string, flag = "--out"): void {
  const real = (p: string) => {
    try {
      return realpathSync(path(io, p));
    } catch {
      return path(io, p);
    }
  };
  const target = real(out);
  const inputs = [["state file", opts.state], ["state lock", `${opts.state}.lock`], ["config file", opts.config]];
  for (const [what, input] of inputs) {
    if (real(input as string) === target) {
      throw new BerthError(
        "VALIDATION",
        `${flag} "${out}" is the ${what}; saving the plan there would overwrite it: choose another file, such as plan.json`,
      );
    }
  }
}

/** `--target`/`--host` where they cannot apply: refused rather than ignored. */
function refuseSelection(opts: Selection, why: string): void {
  if ((opts.target?.length ?? 0) + (opts.host?.length ?? 0) === 0) return;
  throw new BerthError("VALIDATION", `--target/--host cannot be used here: ${why}; drop them`);
}

/** Reads and parses the config file named by `--config`. */
export async function loadConfig(io: CliIO, opts: GlobalOptions): Promise<LoadedConfig> {
  const file = path(io, opts.config);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new BerthError(
      "VALIDATION",
      `Cannot read config file "${opts.config}": ${(err as Error).message}. Create it, or pass --config PATH`,
      { cause: err },
    );
  }
  return interruptibleAtOnce(() => {
    let text: string | undefined = decodeUtf8(bytes as Uint8Array, opts.config);
    bytes = undefined; // memory: neither the bytes nor the text outlive the step that needs them
    const doc = parseDocument(text, opts.config);
    text = undefined;
    const config = configFromDocument(doc, opts.config, { env: io.env, baseDir: dirname(file) });
    return { ...config, hostNames: hostNamesOf(doc, config.desiredState) };
  });
}

/** Prints the connections made (with `--verbose`) and cleanup warnings, then closes the resource. */
export async function closeResource(io: CliIO, resource: ContainersResource, opts: GlobalOptions): Promise<void> {
  if (opts.verbose) {
    for (const c of await resource.connections()) {
      io.stderr.write(
        `connection ${c.host} via ${c.via}${
          c.handshakes === undefined ? "" : `: ${c.handshakes} SSH handshake${c.handshakes === 1 ? "" : "s"}`
        }\n`,
      );
    }
  }
  const errors = await resource.close();
  hostLogs.get(resource)?.flush();
  for (const err of errors) warn(io, err.message);
}

function path(io: CliIO, p: string): string {
  return resolve(io.cwd, p);
}

/**
 * Apply: carry out a plan. Hosts are worked on concurrently, containers on
 * one host in a stable order (removals first). After every step the state
 * that is true now is handed to `onState`, so a failure half-way loses
 * nothing. A stop signal ends the run between steps, never inside one.
 *
 * @module
 */
import { dirname } from "node:path";
import { BerthError, withContext } from "../core/errors.ts";
import { configHash } from "../core/hash.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_NAME, type Runtime } from "../runtimes/runtime.ts";
import { hostKey, hostLabel } from "../core/host.ts";
import { DEFAULT_HOST_CONCURRENCY, mapLimit } from "./limit.ts";
import type { Plan, PlannedChange } from "./plan.ts";
import type { HostFiles } from "./host-files.ts";
import type { Session } from "./session.ts";

/** Progress of one change, for output. */
export interface ApplyEvent {
  type: "begin" | "done" | "failed" | "skipped";
  change: PlannedChange;
  /** Milliseconds, on `done` and `failed`. */
  durationMs?: number;
  error?: BerthError;
}

/** Outcome of one change. */
export interface ChangeResult {
  name: string;
  action: PlannedChange["action"];
  host: string;
  ok: boolean;
  durationMs: number;
  error?: BerthError;
}

/** What an apply did. */
export interface ApplyResult {
  results: ChangeResult[];
  /** The state now true on the hosts. */
  state: ContainersState;
  /** Changes that failed or were skipped. */
  failed: number;
  /** True when a stop signal ended the run before every change was done. */
  interrupted: boolean;
}

/** Options of an apply. */
export interface ApplyOptions {
  /** Called with a snapshot after every step that changed the state. */
  onState?: (state: ContainersState) => void | Promise<void>;
  onEvent?: (event: ApplyEvent) => void;
  /** Checked between steps: when aborted, steps in flight finish and no new step starts. */
  stopSignal?: AbortSignal;
  /** Hosts worked on at once; default {@link DEFAULT_HOST_CONCURRENCY}. */
  concurrency?: number;
  /**
   * Containers of one host worked on at once; default 4. They are started in
   * name order, removals (on every host) before the rest; 1 works through
   * them strictly one by one.
   */
  perHostConcurrency?: number;
  /** Seconds a container gets to stop before it is killed; default 10. */
  stopTimeoutSeconds?: number;
}

/**
 * Carries out `plan`.
 *
 * @param current The previous state with statuses as observed (it is copied, not changed).
 */
export async function apply(
  plan: Plan,
  desired: ContainersState,
  current: ContainersState,
  session: Session,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const state: ContainersState = { ...current };
  const results: ChangeResult[] = [];
  let interrupted = false;
  const record = stateRecorder(state, options.onState);

  // Changes that only touch the state ("nothing" with new host settings, "forget").
  for (const c of plan.changes) {
    const want = desired[c.name];
    if (c.action === "nothing" && want !== undefined) {
      state[c.name] = { ...want, container: { ...want.container, ...statusOf(state[c.name]) } };
    }
    if (c.action === "forget") delete state[c.name];
  }
  await record(() => {});

  const work = plan.changes.filter((c) => !["nothing", "forget", "blocked"].includes(c.action));
  // Every host's removals run first (also the old side of a move), then everything else,
  // so a move's create never waits on a host that has not had its turn yet.
  const removed = new Map<string, boolean>();
  const queues = new Map<string, { removals: Array<() => Promise<void>>; others: Array<() => Promise<void>> }>();
  const enqueue = (key: string, step: () => Promise<void>, removal = false) => {
    const queue = queues.get(key) ?? { removals: [], others: [] };
    (removal ? queue.removals : queue.others).push(step);
    queues.set(key, queue);
  };

  const run = async (c: PlannedChange, fn: () => Promise<void>): Promise<boolean> => {
    if (options.stopSignal?.aborted) {
      interrupted = true;
      results.push({ name: c.name, action: c.action, host: c.host, ok: false, durationMs: 0 });
      options.onEvent?.({ type: "skipped", change: c });
      return false;
    }
    options.onEvent?.({ type: "begin", change: c });
    const started = performance.now();
    try {
      await fn();
      const durationMs = performance.now() - started;
      results.push({ name: c.name, action: c.action, host: c.host, ok: true, durationMs });
      options.onEvent?.({ type: "done", change: c, durationMs });
      return true;
    } catch (err) {
      const durationMs = performance.now() - started;
      const error = err instanceof BerthError ? err : withContext(err, `${c.action} ${c.name}`);
      results.push({ name: c.name, action: c.action, host: c.host, ok: false, durationMs, error });
      options.onEvent?.({ type: "failed", change: c, durationMs, error });
      return false;
    }
  };

  const ctx: StepContext = { session, record, state, stopTimeoutSeconds: options.stopTimeoutSeconds ?? 10 };
  const ordered = [...work.filter((c) => c.action === "remove"), ...work.filter((c) => c.action !== "remove")];
  for (const c of ordered) {
    const want = desired[c.name];
    const prev = current[c.name];
    if (c.action === "remove") {
      enqueue(
        hostKey((prev as HostConfiguredContainer).host),
        () =>
          run(c, () => removeStep(ctx, c.name, prev as HostConfiguredContainer, c.replaces as string)).then(() => {}),
        true,
      );
    } else if (c.action === "recreate" && c.fromHost !== undefined) {
      const from = prev as HostConfiguredContainer;
      const removal: PlannedChange = { ...c, action: "remove", host: c.fromHost, reasons: [`moves to host ${c.host}`] };
      enqueue(
        hostKey(from.host),
        async () =>
          void removed.set(c.name, await run(removal, () => removeStep(ctx, c.name, from, c.replaces as string))),
        true,
      );
      enqueue(hostKey((want as HostConfiguredContainer).host), async () => {
        if (removed.get(c.name) !== true) {
          const error = new BerthError(
            "CONFLICT",
            `not created on host ${c.host}: removing it from host ${c.fromHost} failed first`,
            { container: c.name },
          );
          results.push({ name: c.name, action: c.action, host: c.host, ok: false, durationMs: 0, error });
          options.onEvent?.({ type: "failed", change: c, durationMs: 0, error });
          return;
        }
        await run(c, () => createStep(ctx, c, want as HostConfiguredContainer));
      });
    } else {
      const hcc = want as HostConfiguredContainer;
      enqueue(hostKey(hcc.host), () => run(c, () => changeStep(ctx, c, hcc, prev)).then(() => {}));
    }
  }

  const perHost = options.perHostConcurrency ?? 4;
  const hosts = [...queues.values()];
  await mapLimit(
    hosts,
    options.concurrency ?? DEFAULT_HOST_CONCURRENCY,
    (queue) => mapLimit(queue.removals, perHost, (step) => step()),
  );
  await mapLimit(
    hosts,
    options.concurrency ?? DEFAULT_HOST_CONCURRENCY,
    (queue) => mapLimit(queue.others, perHost, (step) => step()),
  );
  await record(() => {});
  const failed = results.filter((r) => !r.ok).length;
  return { results, state: { ...state }, failed, interrupted };
}

/**
 * Hands the state to `onState` after changes, one call at a time. Changes
 * made while a call is running are handed over together in the next call,
 * so each change is persisted before its `record()` resolves, without one
 * write per change when many containers change at once.
 */
function stateRecorder(
  state: ContainersState,
  onState: ApplyOptions["onState"],
): (mutate: () => void) => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const write = (): Promise<void> => {
    const snapshot = { ...state };
    running = Promise.resolve(onState?.(snapshot)).finally(() => (running = undefined));
    return running;
  };
  return (mutate) => {
    mutate();
    if (queued !== undefined) return queued;
    if (running === undefined) return write();
    queued = running.catch(() => {}).then(() => {
      queued = undefined;
      return write();
    });
    return queued;
  };
}

interface StepContext {
  session: Session;
  state: ContainersState;
  record: (mutate: () => void) => Promise<void>;
  stopTimeoutSeconds: number;
}

async function changeStep(
  ctx: StepContext,
  c: PlannedChange,
  want: HostConfiguredContainer,
  prev: HostConfiguredContainer | undefined,
): Promise<void> {
  switch (c.action) {
    case "create":
      return createStep(ctx, c, want);
    case "recreate":
      await removeStep(ctx, c.name, prev ?? want, c.replaces as string);
      return createStep(ctx, c, want);
    case "start": {
      const runtime = await ctx.session.runtime(want);
      const id = ctx.state[c.name]?.container.status?.id as string;
      await doing(`starting container "${c.name}" on host ${c.host}`, () => runtime.start(id));
      await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, "running")));
      return await postStart(want, c);
    }
    case "update-files": {
      const runtime = await ctx.session.runtime(want);
      const id = ctx.state[c.name]?.container.status?.id as string;
      const wrote = await writeHostFiles(ctx, want, c);
      await ctx.record(
        () => (ctx.state[c.name] = withStatus(want, id, ctx.state[c.name]?.container.status?.status ?? "running")),
      );
      // Files the check could not read turned out to match: the container stays as it is.
      if (!wrote && ctx.state[c.name]?.container.status?.status === "running") return;
      await doing(`restarting container "${c.name}" on host ${c.host}`, async () => {
        await runtime.stop(id, { timeoutSeconds: ctx.stopTimeoutSeconds });
        await runtime.start(id);
      });
      await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, "running")));
      return await postStart(want, c);
    }
    default:
      throw new Error(`unexpected action ${c.action}`);
  }
}

async function createStep(ctx: StepContext, c: PlannedChange, want: HostConfiguredContainer): Promise<void> {
  const runtime = await ctx.session.runtime(want);
  const config = want.container.config;
  await doing(`pulling image "${config.image}" on host ${c.host}`, () => ctx.session.ensureImage(want));
  await writeHostFiles(ctx, want, c);
  const labels = {
    [LABEL_MANAGED]: "true",
    [LABEL_NAME]: config.name,
    [LABEL_CONFIG_HASH]: configHash(config, want.container.runtime),
  };
  const id = await doing(`creating container "${c.name}" on host ${c.host}`, () => runtime.create(config, { labels }));
  await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, "created")));
  await doing(`starting container "${c.name}" on host ${c.host}`, () => runtime.start(id));
  await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, "running")));
  await postStart(want, c);
}

async function removeStep(ctx: StepContext, name: string, hcc: HostConfiguredContainer, id: string): Promise<void> {
  const runtime = await ctx.session.runtime(hcc);
  const label = hostLabel(hcc.host);
  await doing(`removing container "${name}" on host ${label}`, async () => {
    await stopAndRemove(runtime, id, ctx.stopTimeoutSeconds);
  });
  await ctx.record(() => {
    if (ctx.state[name]?.container.status?.id === id || ctx.state[name]?.container.status === undefined) {
      delete ctx.state[name];
    }
  });
}

async function stopAndRemove(runtime: Runtime, id: string, timeoutSeconds: number): Promise<void> {
  const status = await runtime.status(id);
  if (status === undefined) return;
  if (status.status === "running" || status.status === "restarting" || status.status === "paused") {
    await runtime.stop(id, { timeoutSeconds });
  }
  await runtime.remove(id, { force: true });
}

/** Writes the change's files and makes its directories; false when there was nothing to do after all. */
async function writeHostFiles(ctx: StepContext, want: HostConfiguredContainer, c: PlannedChange): Promise<boolean> {
  if (c.files.length === 0 && c.directories.length === 0) return false;
  const files = await ctx.session.files(want);
  const { paths, directories } = await stillToDo(files, want, c);
  if (paths.length === 0 && directories.length === 0) return false;
  await refuseSymlinkedParents(files, [...paths, ...directories.map((d) => d.slice(0, -1))], c);
  if (directories.length > 0) {
    const dirs = directories.map((d) => d.slice(0, -1));
    const found = await files.stat(dirs);
    const asFile = dirs.filter((d) => found.get(d)?.isDirectory === false);
    if (asFile.length > 0) {
      throw new BerthError(
        "CONFLICT",
        `mount source "${
          asFile[0]
        }/" is a file on host ${c.host}, a directory mount needs a directory: remove the file, or drop the trailing "/"`,
        { container: c.name },
      );
    }
    await files.mkdir(dirs.filter((d) => !found.has(d)));
  }
  const { uid, gid } = owner(want);
  await files.write(
    paths.map((path) => ({ path, content: (want.configFiles ?? {})[path] as string, mode: 0o600, uid, gid })),
  );
  return true;
}

/** The change's files and directories, less those the check could not read that turn out to be right already. */
async function stillToDo(
  files: HostFiles,
  want: HostConfiguredContainer,
  c: PlannedChange,
): Promise<{ paths: string[]; directories: string[] }> {
  const unknown = new Set(c.unknown ?? []);
  if (unknown.size === 0) return { paths: c.files, directories: c.directories };
  const current = await files.read(c.files.filter((p) => unknown.has(p)));
  const found = await files.stat(c.directories.filter((d) => unknown.has(d)).map((d) => d.slice(0, -1)));
  const wanted = want.configFiles ?? {};
  return {
    paths: c.files.filter((p) =>
      !unknown.has(p) || new TextDecoder().decode(current.get(p)?.content ?? new Uint8Array()) !== wanted[p] ||
      !current.has(p)
    ),
    directories: c.directories.filter((d) => !unknown.has(d) || found.get(d.slice(0, -1))?.isDirectory !== true),
  };
}

/**
 * A write into a symlinked directory would land wherever the link points
 * (and a helper container resolves an absolute link inside itself): a path
 * under a symlinked directory is refused, never written elsewhere.
 */
async function refuseSymlinkedParents(files: HostFiles, paths: string[], c: PlannedChange): Promise<void> {
  const parents = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); dir !== "/"; dir = dirname(dir)) parents.add(dir);
  }
  const links = [...(await files.stat([...parents].sort())).values()].filter((info) => info.isSymlink).map((info) =>
    info.path
  );
  if (links.length > 0) {
    throw new BerthError(
      "UNSAFE_PATH",
      `"${
        links[0]
      }" on host ${c.host} is a symbolic link; berth does not follow links to write files: use the real path in configFiles and mounts`,
      { container: c.name },
    );
  }
}

/** Config files belong to the container's user and group when they are numeric, else root. */
function owner(hcc: HostConfiguredContainer): { uid: number; gid: number } {
  const numeric = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : 0);
  return { uid: numeric(hcc.container.config.user), gid: numeric(hcc.container.config.group) };
}

async function postStart(want: HostConfiguredContainer, c: PlannedChange): Promise<void> {
  if (want.hooks?.postStart === undefined) return;
  await doing(`running postStart hook of container "${c.name}"`, async () => {
    await want.hooks?.postStart?.();
  });
}

function withStatus(hcc: HostConfiguredContainer, id: string, status: string): HostConfiguredContainer {
  return { ...hcc, container: { ...hcc.container, status: { id, status } } };
}

function statusOf(hcc: HostConfiguredContainer | undefined): { status?: { id: string; status: string } } {
  const status = hcc?.container.status;
  return status === undefined ? {} : { status };
}

async function doing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withContext(err, what);
  }
}

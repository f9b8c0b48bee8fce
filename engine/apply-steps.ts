/**
 * The steps of an apply: create, remove, start, rewrite files and restart,
 * for one container on one host. Each records the state that is true after
 * it; the order and concurrency of steps is `apply-schedule.ts`'s job.
 *
 * @module
 */
import { dirname } from "node:path";
import { BerthError, withContext } from "../core/errors.ts";
import { configHash } from "../core/hash.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { LABEL_CONFIG_HASH, LABEL_MANAGED, LABEL_NAME, type Runtime } from "../runtimes/runtime.ts";
import { hostLabel } from "../core/host.ts";
import type { PlannedChange } from "./plan.ts";
import type { HostFiles } from "./host-files.ts";
import type { Session } from "./session.ts";
import { replaceStep, settleStep } from "./replace.ts";

/** What the steps work with. */
export interface StepContext {
  session: Session;
  /** The state now true, changed only through `record`. */
  state: ContainersState;
  /** Changes the state and resolves once the change is persisted. */
  record: (mutate: () => void) => Promise<void>;
  stopTimeoutSeconds: number;
  /** The entry as recorded and hashed: secrets as digests (core/sensitive.ts); the real values only reach the host. */
  seal: (hcc: HostConfiguredContainer) => HostConfiguredContainer;
  /** Waits for a started container's gate (engine/gate.ts); throws when it fails. */
  gate: (c: PlannedChange, want: HostConfiguredContainer, id: string) => Promise<void>;
}

/** Carries out a change that is not a removal or a move: create, recreate in place, start, update-files, finish, restore. */
export async function changeStep(
  ctx: StepContext,
  c: PlannedChange,
  want: HostConfiguredContainer,
  prev: HostConfiguredContainer | undefined,
): Promise<void> {
  // An old container an interrupted recreate set aside: finished or restored before the change still due.
  if (c.aside !== undefined && c.action !== "finish" && c.action !== "restore") {
    await settleStep(ctx, c, want, prev);
    prev = ctx.state[c.name];
  }
  switch (c.action) {
    case "create":
      return createStep(ctx, c, want);
    case "recreate":
      return replaceStep(ctx, c, want, prev);
    case "finish":
    case "restore":
      return settleStep(ctx, c, want, prev);
    case "start": {
      const runtime = await ctx.session.runtime(want);
      const id = ctx.state[c.name]?.container.status?.id as string;
      // A crash-looping container is stopped first, so it starts afresh (the engine's back-off reset) for its gate.
      if (ctx.state[c.name]?.container.status?.status === "restarting") {
        await doing(
          `stopping container "${c.name}" on host ${c.host}`,
          () => runtime.stop(id, { timeoutSeconds: stopTimeout(ctx, want) }),
        );
      }
      await doing(`starting container "${c.name}" on host ${c.host}`, () => runtime.start(id));
      await ctx.record(() => (ctx.state[c.name] = withStatus(ctx.seal(want), id, "running")));
      await ctx.gate(c, want, id);
      return await postStart(want, c);
    }
    case "update": {
      const runtime = await ctx.session.runtime(want);
      const id = ctx.state[c.name]?.container.status?.id as string;
      const status = ctx.state[c.name]?.container.status?.status ?? "running";
      await doing(`updating container "${c.name}" on host ${c.host}`, () => runtime.update(id, want.container.config));
      await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, status)));
      if (c.files.length > 0 || c.directories.length > 0) {
        const { aside: _settled, ...files } = c;
        return await changeStep(ctx, { ...files, action: "update-files" }, want, prev);
      }
      if ((await runtime.status(id))?.status === "running") return;
      await doing(`starting container "${c.name}" on host ${c.host}`, () => runtime.start(id));
      await ctx.record(() => (ctx.state[c.name] = withStatus(want, id, "running")));
      await ctx.gate(c, want, id);
      return await postStart(want, c);
    }
    case "update-files": {
      const runtime = await ctx.session.runtime(want);
      const id = ctx.state[c.name]?.container.status?.id as string;
      const wrote = await writeHostFiles(ctx, want, c);
      await ctx.record(
        () => (ctx.state[c.name] = withStatus(
          ctx.seal(want),
          id,
          ctx.state[c.name]?.container.status?.status ?? "running",
        )),
      );
      // Files the check could not read turned out to match: the container stays as it is.
      if (!wrote && ctx.state[c.name]?.container.status?.status === "running") return;
      await doing(`restarting container "${c.name}" on host ${c.host}`, async () => {
        await runtime.stop(id, { timeoutSeconds: stopTimeout(ctx, want) });
        await runtime.start(id);
      });
      await ctx.record(() => (ctx.state[c.name] = withStatus(ctx.seal(want), id, "running")));
      await ctx.gate(c, want, id);
      return await postStart(want, c);
    }
    default:
      throw new Error(`unexpected action ${c.action}`);
  }
}

/**
 * Pulls the image, writes the files, creates and starts the container, waits for its gate, then runs its postStart
 * hook. `beforeStart` runs between the create and the start (a stop-first recreate stops the old one there).
 */
export async function createStep(
  ctx: StepContext,
  c: PlannedChange,
  want: HostConfiguredContainer,
  beforeStart?: () => Promise<void>,
): Promise<void> {
  const runtime = await ctx.session.runtime(want);
  const config = want.container.config;
  await doing(`pulling image "${config.image}" on host ${c.host}`, () => ctx.session.ensureImage(want));
  await writeHostFiles(ctx, want, c);
  const labels = {
    [LABEL_MANAGED]: "true",
    [LABEL_NAME]: config.name,
    [LABEL_CONFIG_HASH]: configHash(ctx.seal(want).container.config, want.container.runtime),
  };
  const id = await doing(`creating container "${c.name}" on host ${c.host}`, () => runtime.create(config, { labels }));
  await ctx.record(() => (ctx.state[c.name] = withStatus(ctx.seal(want), id, "created")));
  await beforeStart?.();
  await doing(`starting container "${c.name}" on host ${c.host}`, () => runtime.start(id));
  await ctx.record(() => (ctx.state[c.name] = withStatus(ctx.seal(want), id, "running")));
  await ctx.gate(c, want, id);
  await postStart(want, c);
}

/** Stops and removes container `id` of `hcc`'s host, and drops it from the state. */
export async function removeStep(
  ctx: StepContext,
  name: string,
  hcc: HostConfiguredContainer,
  id: string,
): Promise<void> {
  const runtime = await ctx.session.runtime(hcc);
  const label = hostLabel(hcc.host);
  await doing(`removing container "${name}" on host ${label}`, async () => {
    await stopAndRemove(runtime, id, stopTimeout(ctx, hcc));
  });
  await ctx.record(() => {
    if (ctx.state[name]?.container.status?.id === id || ctx.state[name]?.container.status === undefined) {
      delete ctx.state[name];
    }
  });
}

/** The container's own stop timeout, else the apply's. */
export function stopTimeout(ctx: StepContext, hcc: HostConfiguredContainer): number {
  return hcc.container.config.stopTimeout ?? ctx.stopTimeoutSeconds;
}

/**
 * Stops container `id` gracefully, then removes it; one that is gone counts as removed. No status is asked
 * first: a runtime's stop leaves a stopped container as it is (Docker answers 304).
 */
export async function stopAndRemove(runtime: Runtime, id: string, timeoutSeconds: number): Promise<void> {
  try {
    await runtime.stop(id, { timeoutSeconds });
    await runtime.remove(id, { force: true });
  } catch (err) {
    if (!(err instanceof BerthError && err.code === "NOT_FOUND")) throw err;
  }
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
      !unknown.has(p) || !current.has(p) ||
      new TextDecoder().decode(current.get(p)?.content) !== wanted[p]
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

export function withStatus(hcc: HostConfiguredContainer, id: string, status: string): HostConfiguredContainer {
  return { ...hcc, container: { ...hcc.container, status: { id, status } } };
}

export async function doing<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withContext(err, what);
  }
}

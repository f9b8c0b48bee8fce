/**
 * Pull first: before an apply stops or removes anything, every image a
 * create or recreate (also a move) needs is made present on its host, on
 * all hosts, as each container's `pull` policy says. A change whose image
 * cannot be had fails before any of its steps runs, so the container it
 * would replace is left untouched and running.
 *
 * @module
 */
import { BerthError, withContext } from "../core/errors.ts";
import type { ContainersState, HostConfiguredContainer } from "../core/model.ts";
import { hostLabel } from "../core/host.ts";
import { mapLimit } from "./limit.ts";
import type { PlannedChange } from "./plan.ts";
import type { Session } from "./session.ts";

/** Changes whose image could not be had, by container name, with the error. */
export type PullFailures = Map<string, BerthError>;

/** The actions that create a container, and so need its image on its host first. */
const CREATING = new Set<PlannedChange["action"]>(["create", "recreate"]);

/**
 * Makes sure the images of the creating changes in `work` are on their
 * hosts (one lookup or pull per host, image and policy, through the
 * session's cache), hosts `concurrency` at a time.
 *
 * @returns The changes whose image could not be had: none of their steps may run.
 */
export async function pullFirst(
  work: PlannedChange[],
  desired: ContainersState,
  session: Session,
  options: { concurrency: number; stopSignal?: AbortSignal },
): Promise<PullFailures> {
  const failures: PullFailures = new Map();
  const needing = work.filter((c) => CREATING.has(c.action) && desired[c.name] !== undefined);
  await mapLimit(needing, options.concurrency, async (c) => {
    if (options.stopSignal?.aborted === true) return;
    const want = desired[c.name] as HostConfiguredContainer;
    try {
      await session.ensureImage(want, options.stopSignal);
    } catch (err) {
      failures.set(c.name, pullError(err, want, c));
    }
  });
  return failures;
}

/** The pull's error, saying where, and that what runs was left alone. */
function pullError(err: unknown, want: HostConfiguredContainer, c: PlannedChange): BerthError {
  const image = want.container.config.image;
  const host = hostLabel(want.host);
  const message = err instanceof Error ? err.message : String(err);
  const doing = message.includes(`image "${image}"`)
    ? `${c.action} ${c.name}`
    : `pulling image "${image}" on host ${host}`;
  const kept = c.action === "recreate"
    ? ` (nothing was stopped: the current container "${c.name}"${
      c.fromHost === undefined ? "" : ` on host ${c.fromHost}`
    } is left as it is)`
    : "";
  const error = withContext(err, doing, { host, container: c.name, fallback: "IMAGE_PULL" });
  // pull: never says its own fix.
  const next = error.code === "IMAGE_PULL"
    ? "; check the image reference and the registry (and registryAuth), then apply again"
    : "";
  return new BerthError(error.code, `${error.message}${kept}${next}`, {
    cause: error.cause ?? err,
    host,
    container: c.name,
  });
}

/**
 * `pull: always` in the plan: a tag that now points at another image in the
 * registry is a recreate. Read-only: the registry is asked for the tag's
 * digest (Docker's `GET /distribution/{name}/json`), nothing is pulled. A
 * digest reference (`@sha256:`) names one image for good and is never asked.
 *
 * @module
 */
import type { HostConfiguredContainer } from "../core/model.ts";
import { hostKey } from "../core/host.ts";
import type { DiffLine } from "./diff.ts";
import type { Session } from "./session.ts";

/** Whether the plan asks the registry about this container: `pull: always`, a tag, and it stays on its host. */
function asksRegistry(recorded: HostConfiguredContainer, want: HostConfiguredContainer): boolean {
  return want.container.config.pull === "always" && !want.container.config.image.includes("@") &&
    hostKey(recorded.host) === hostKey(want.host);
}

/**
 * The digest the registry serves now for the desired image, when the plan
 * should compare it; undefined when it need not, cannot (CRI) or the
 * registry did not answer (the plan then does not know of a moved tag).
 */
export async function registryDigestFor(
  recorded: HostConfiguredContainer,
  want: HostConfiguredContainer,
  session: Session,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (!asksRegistry(recorded, want)) return undefined;
  return await session.registryDigest(want, signal).catch(() => undefined);
}

/**
 * The reason and diff of a recreate when the desired tag now points at
 * another image than the recorded container runs (same image reference).
 */
export function movedTag(
  was: HostConfiguredContainer,
  want: HostConfiguredContainer,
  registryDigest: string | undefined,
): { reason: string; diff: DiffLine } | undefined {
  const running = was.container.image;
  const recordedDigest = running?.digest?.slice(running.digest.indexOf("@") + 1);
  if (registryDigest === undefined || recordedDigest === undefined || recordedDigest === registryDigest) {
    return undefined;
  }
  const image = want.container.config.image;
  if (was.container.config.image !== image) return undefined;
  const repository = (running?.digest as string).slice(0, (running?.digest as string).indexOf("@"));
  return {
    reason: `image "${image}" now points at another image in the registry (pull: always)`,
    diff: {
      op: "~",
      path: "image (pulled)",
      before: `${running?.id} (${running?.digest})`,
      after: `${repository}@${registryDigest} (its ID is known once pulled)`,
    },
  };
}

/**
 * What the state remembers beyond a container's config: the image it runs
 * (ID and repo digest) and the generation a change replaced, for rollback.
 * Both follow a container as long as its id stays; a create or recreate
 * records them anew.
 *
 * @module
 */
import { configHash } from "../core/hash.ts";
import type { ContainersState, HostConfiguredContainer, ImageIdentity, PreviousGeneration } from "../core/model.ts";

/**
 * Keeps `image` and `previous` on the entries of `now` whose container is
 * still the one of `was` (same id), where a step rewrote the entry from the
 * desired config without them.
 */
export function carryRecords(was: ContainersState, now: ContainersState): void {
  for (const [name, entry] of Object.entries(now)) {
    const before = was[name];
    if (before === undefined || before === entry) continue;
    const id = entry.container.status?.id;
    if (id === undefined || id !== before.container.status?.id) continue;
    const { image, previous } = before.container;
    if (
      (image === undefined || entry.container.image !== undefined) &&
      (previous === undefined || entry.container.previous !== undefined)
    ) continue;
    now[name] = {
      ...entry,
      container: {
        ...entry.container,
        ...(entry.container.image === undefined && image !== undefined ? { image } : {}),
        ...(entry.container.previous === undefined && previous !== undefined ? { previous } : {}),
      },
    };
  }
}

/**
 * The entry of a container just created from `created`, with the image it
 * runs and the generation it replaced: `replaced` itself when it differs
 * (config or image), else the generation `replaced` kept.
 */
export function withGeneration(
  created: HostConfiguredContainer,
  image: ImageIdentity | undefined,
  replaced: HostConfiguredContainer | undefined,
): HostConfiguredContainer {
  let previous = replaced?.container.previous;
  if (replaced !== undefined) {
    const sameConfig = configHash(replaced.container.config, replaced.container.runtime) ===
      configHash(created.container.config, created.container.runtime);
    const sameImage = replaced.container.image === undefined || image === undefined ||
      replaced.container.image.id === image.id;
    if (!sameConfig || !sameImage) previous = generationOf(replaced);
  }
  return {
    ...created,
    container: {
      ...created.container,
      ...(image === undefined ? {} : { image }),
      ...(previous === undefined ? {} : { previous }),
    },
  };
}

/** What rollback needs of a container: its config (secrets sealed), files and image. */
function generationOf(hcc: HostConfiguredContainer): PreviousGeneration {
  const { config, image } = hcc.container;
  return {
    config,
    ...(image === undefined ? {} : { image }),
    ...(hcc.configFiles === undefined ? {} : { configFiles: hcc.configFiles }),
  };
}

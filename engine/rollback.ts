/**
 * Rollback: the desired state that returns containers to the generation a
 * change replaced (kept in the state, see engine/generations.ts). It is
 * planned and applied like any desired state, so it goes through the same
 * steps (pull first, and whatever else apply does). The image is pinned to
 * the recorded repo digest (else the image ID), so a tag moved since does
 * not bring another image back.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import { hostKey } from "../core/host.ts";
import type { ContainersState, HostConfiguredContainer, PreviousGeneration } from "../core/model.ts";
import { digestOf, isSealed } from "../core/sensitive.ts";
import { suggest } from "../core/suggest.ts";

/**
 * The desired state of a rollback: for each of `names` (every container
 * with a previous generation when none is given), its previous generation.
 * Only these containers are in it; the rest of the state stays as it is.
 *
 * @param state The recorded state.
 * @param config The config's desired state: secret values whose digests match the recorded ones, and registry
 *   credentials, come from it (a secret value is never stored, only its digest).
 * @param digestKey The key the state's digests were made with.
 * @throws {BerthError} `NOT_FOUND` for a name not in the state or without a previous generation;
 *   `VALIDATION` when a secret of the previous generation is no longer in the config.
 *
 * @example
 * ```ts
 * import { rollbackState } from "./rollback.ts";
 * const state = { web: { host: { directConfig: {} }, container: {
 *   config: { name: "web", image: "app:2" }, status: { id: "b", status: "running" },
 *   previous: { config: { name: "web", image: "app:1" }, image: { id: "sha256:aa", digest: "app@sha256:bb" } },
 * } } };
 * const back = rollbackState(state, {}, []);
 * if (back.web?.container.config.image !== "app@sha256:bb") throw new Error("not pinned");
 * ```
 */
export function rollbackState(
  state: ContainersState,
  config: ContainersState,
  names: string[],
  digestKey?: Uint8Array,
): ContainersState {
  const chosen = names.length > 0
    ? names
    : Object.keys(state).filter((name) => state[name]?.container.previous !== undefined).sort();
  if (chosen.length === 0) {
    throw new BerthError(
      "NOT_FOUND",
      "Nothing to roll back: no container in the state has a previous generation (apply records one when it replaces a container)",
    );
  }
  return Object.fromEntries(chosen.map((name) => [name, rollbackOne(name, state, config[name], digestKey)]));
}

function rollbackOne(
  name: string,
  state: ContainersState,
  configured: HostConfiguredContainer | undefined,
  digestKey: Uint8Array | undefined,
): HostConfiguredContainer {
  const entry = state[name];
  if (entry === undefined) {
    const close = suggest(name, Object.keys(state));
    throw new BerthError(
      "NOT_FOUND",
      `No container "${name}" in the state${close === undefined ? "" : `: did you mean "${close}"?`}`,
      { container: name },
    );
  }
  const generation = entry.container.previous;
  if (generation === undefined) {
    throw new BerthError(
      "NOT_FOUND",
      `Container "${name}" has no previous generation in the state: apply records one when it replaces the container, and has not since`,
      { container: name },
    );
  }
  const sameHost = configured !== undefined && hostKey(configured.host) === hostKey(entry.host);
  const known = sameHost ? configured : undefined;
  const env = unsealed(name, "env var", generation.config.env, known?.container.config.env, digestKey);
  const files = unsealed(name, "config file", generation.configFiles, known?.configFiles, digestKey);
  const runtime = known?.container.runtime ?? entry.container.runtime;
  return {
    container: {
      config: {
        ...generation.config,
        ...(env.values === undefined ? {} : { env: env.values }),
        ...pinned(generation),
      },
      ...(runtime === undefined ? {} : { runtime }),
    },
    host: entry.host,
    ...(files.values === undefined ? {} : { configFiles: files.values }),
    ...(env.secret.length + files.secret.length === 0 ? {} : {
      sensitive: {
        ...(env.secret.length === 0 ? {} : { env: env.secret }),
        ...(files.secret.length === 0 ? {} : { configFiles: files.secret }),
      },
    }),
  };
}

/** The image as recorded: by repo digest, else by ID (then it must be on the host: pull never). */
function pinned(generation: PreviousGeneration): { image?: string; pull?: "never" } {
  const image = generation.image;
  if (image?.digest !== undefined) return { image: image.digest };
  if (image !== undefined) return { image: image.id, pull: "never" };
  return {};
}

/**
 * Sealed values (digests) replaced by the configured value with the same
 * digest; a sealed value without one cannot be restored.
 */
function unsealed(
  name: string,
  what: string,
  recorded: Record<string, string> | undefined,
  configured: Record<string, string> | undefined,
  digestKey: Uint8Array | undefined,
): { values?: Record<string, string>; secret: string[] } {
  if (recorded === undefined) return { secret: [] };
  const secret: string[] = [];
  const values = Object.fromEntries(
    Object.entries(recorded).map(([key, value]) => {
      if (!isSealed(value)) return [key, value];
      const candidate = configured?.[key];
      if (candidate === undefined || digestKey === undefined || digestOf(candidate, digestKey) !== value) {
        throw new BerthError(
          "VALIDATION",
          `Cannot roll back "${name}": ${what} ${key} was a secret, whose earlier value berth never stores (only its digest), and the config's value is not that one: put the earlier value back in the config, or roll back by editing the config`,
          { container: name },
        );
      }
      secret.push(key);
      return [key, candidate];
    }),
  );
  return { values, secret: secret.sort() };
}

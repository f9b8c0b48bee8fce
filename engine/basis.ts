/**
 * The basis of a plan: fingerprints of everything the plan was computed
 * from. A saved plan is applied only while its basis still holds.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { BerthError } from "../core/errors.ts";
import type { ContainersState } from "../core/model.ts";
import { secretDigests } from "../core/sensitive.ts";
import { stripSecrets } from "../core/serialize.ts";
import type { ObservedState } from "./observe.ts";
import { shortId } from "../core/container-id.ts";

/** Fingerprints of the inputs of a plan. */
export interface PlanBasis {
  /** Hash of the previous state. */
  state: string;
  /** Hash of the desired state. */
  desired: string;
  /** Per container: the status seen and a hash of the whole observation. */
  observed: Record<string, { status: string; hash: string }>;
  /** Digests of the sensitive values the plan was made with (core/sensitive.ts), by `container "a" env.PW`. */
  secrets?: Record<string, string>;
}

/** Fingerprints the inputs of a plan (secrets are not part of any hash input). */
export function planBasis(previous: ContainersState, desired: ContainersState, observed: ObservedState): PlanBasis {
  const secrets = secretDigests(desired);
  return {
    ...(Object.keys(secrets).length === 0 ? {} : { secrets }),
    state: hash(stripSecrets(previous)),
    desired: hash(stripSecrets(desired)),
    observed: Object.fromEntries(
      Object.entries(observed).sort(([a], [b]) => a.localeCompare(b)).map(([name, o]) => [
        name,
        {
          status: o.error !== undefined
            ? "unreachable"
            : o.status?.status ?? (o.nameHolder ? `name held by ${shortId(o.nameHolder.id)}` : "absent"),
          hash: hash(o),
        },
      ]),
    ),
  };
}

/**
 * Throws PLAN_STALE, listing every difference, when `now` differs from the basis a plan was made on.
 */
export function assertBasisHolds(saved: PlanBasis, now: PlanBasis): void {
  const changedSecrets = Object.keys({ ...saved.secrets, ...now.secrets }).filter((k) =>
    saved.secrets?.[k] !== now.secrets?.[k]
  );
  if (changedSecrets.length > 0) {
    throw new BerthError(
      "PLAN_STALE",
      `The saved plan was made with other secrets: ${changedSecrets.join(", ")} no longer match${
        changedSecrets.length === 1 ? "es" : ""
      } the digest in the plan; nothing was changed. Set them as they were, or make a new plan`,
    );
  }
  const reasons: string[] = [];
  if (saved.state !== now.state) reasons.push("the state file changed");
  if (saved.desired !== now.desired) reasons.push("the config changed");
  for (const name of new Set([...Object.keys(saved.observed), ...Object.keys(now.observed)])) {
    const a = saved.observed[name];
    const b = now.observed[name];
    if (a?.hash === b?.hash) continue;
    if (a?.status !== b?.status) {
      reasons.push(`container "${name}" was ${a?.status ?? "not checked"}, now ${b?.status ?? "not checked"}`);
    } else reasons.push(`container "${name}" changed on its host (files or mounts)`);
  }
  if (reasons.length > 0) {
    throw new BerthError(
      "PLAN_STALE",
      `The saved plan no longer matches; make a new plan. Since it was made: ${reasons.join("; ")}`,
    );
  }
}

/**
 * SHA-256 of `canonicalJson(value)` (core/hash.ts), fed to the hash piece by piece: a state
 * with a config file of N MB never becomes one more string of N MB (or
 * several, one per level) just to be hashed.
 */
function hash(value: unknown): string {
  const digest = createHash("sha256");
  feedCanonical(digest, value);
  return digest.digest("hex");
}

const CHUNK = 1 << 20;

function feedCanonical(digest: Hash, value: unknown): void {
  if (Array.isArray(value)) {
    digest.update("[");
    value.forEach((v, i) => {
      if (i > 0) digest.update(",");
      if (v !== undefined && v !== null) feedCanonical(digest, v); // as Array.join writes them: nothing
      else if (v === null) digest.update("null");
    });
    digest.update("]");
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort((
      [a],
      [b],
    ) => (a < b ? -1 : a > b ? 1 : 0));
    digest.update("{");
    entries.forEach(([k, v], i) => {
      digest.update(`${i > 0 ? "," : ""}${JSON.stringify(k)}:`);
      feedCanonical(digest, v);
    });
    digest.update("}");
  } else if (typeof value === "string" && value.length > CHUNK) {
    digest.update('"');
    for (let at = 0; at < value.length;) {
      // Never split a surrogate pair: each half alone would be escaped differently.
      let end = Math.min(at + CHUNK, value.length);
      const last = value.charCodeAt(end - 1);
      if (end < value.length && last >= 0xd800 && last <= 0xdbff) end++;
      digest.update(JSON.stringify(value.slice(at, end)).slice(1, -1));
      at = end;
    }
    digest.update('"');
  } else digest.update(String(JSON.stringify(value)));
}

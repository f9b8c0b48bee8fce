/**
 * Sensitive values of containers: env vars and config files marked as
 * secrets (`hcc.sensitive`, set by the config reader from `${env:}` and
 * `${file:}` references, `secretEnv:` and `secret: true`). Anything that
 * leaves berth's memory — state.yaml, saved plans, diffs, container labels —
 * carries a sealed form instead of the value: a keyed digest
 * (`sensitive:hmac-sha256:<hex>`, enough to tell "changed" from "unchanged")
 * or, without a key, `sensitive:redacted`.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { ContainersState, HostConfiguredContainer, SensitiveMarks } from "./model.ts";

export type { SensitiveMarks };

const DIGEST_PREFIX = "sensitive:hmac-sha256:";
const DIGEST = /^sensitive:hmac-sha256:[0-9a-f]{64}$/;
/** What stands for a sensitive value when no digest key is given. */
export const REDACTED = "sensitive:redacted";

/** The keyed digest of a sensitive value, as it appears in state.yaml and plans. */
export function digestOf(value: string, key: Uint8Array): string {
  return DIGEST_PREFIX + createHmac("sha256", key).update(value, "utf8").digest("hex");
}

/** True for a digest or the redaction marker: a value that is not the secret itself. */
export function isSealed(value: unknown): boolean {
  return typeof value === "string" && (value === REDACTED || DIGEST.test(value));
}

function union(a: string[] | undefined, b: string[] | undefined): string[] {
  return [...new Set([...(a ?? []), ...(b ?? [])])].sort();
}

/** The marks of `hcc`, merged with those of `also` (the desired entry, for a recorded one). */
function marksOf(hcc: HostConfiguredContainer, also?: HostConfiguredContainer): SensitiveMarks {
  return {
    env: union(hcc.sensitive?.env, also?.sensitive?.env),
    configFiles: union(hcc.sensitive?.configFiles, also?.sensitive?.configFiles),
  };
}

function sealMap(
  map: Record<string, string> | undefined,
  names: string[],
  seal: (value: string) => string,
): Record<string, string> | undefined {
  if (map === undefined || names.length === 0) return map;
  return Object.fromEntries(
    Object.entries(map).map(([k, v]) => [k, names.includes(k) && !isSealed(v) ? seal(v) : v]),
  );
}

/**
 * A copy of `hcc` whose sensitive env values and config file contents are
 * digests (with `key`) or {@link REDACTED}; sealed values stay as they are.
 *
 * @param also Another entry whose marks apply too (the desired one, for a
 *   recorded entry from a state file that predates the marks).
 */
export function sealContainer(
  hcc: HostConfiguredContainer,
  key?: Uint8Array,
  also?: HostConfiguredContainer,
): HostConfiguredContainer {
  const marks = marksOf(hcc, also);
  const env = marks.env ?? [];
  const files = marks.configFiles ?? [];
  if (env.length === 0 && files.length === 0) return hcc;
  const seal = (value: string) => (key === undefined ? REDACTED : digestOf(value, key));
  const config = hcc.container.config;
  const sealedEnv = sealMap(config.env, env, seal);
  const sealedFiles = sealMap(hcc.configFiles, files, seal);
  return {
    ...hcc,
    container: { ...hcc.container, config: { ...config, ...(sealedEnv === undefined ? {} : { env: sealedEnv }) } },
    ...(sealedFiles === undefined ? {} : { configFiles: sealedFiles }),
    sensitive: marks,
  };
}

/** {@link sealContainer} over a state; `marksFrom` gives each entry's desired marks. */
export function sealState(state: ContainersState, key?: Uint8Array, marksFrom: ContainersState = {}): ContainersState {
  return Object.fromEntries(
    Object.entries(state).map(([name, hcc]) => [name, sealContainer(hcc, key, marksFrom[name])]),
  );
}

/**
 * Where a recorded state still holds a sensitive value in plain text (a
 * state file written before values were sealed): `container "a" env.PW`.
 */
export function plainSecrets(state: ContainersState, marksFrom: ContainersState): string[] {
  const found: string[] = [];
  for (const [name, hcc] of Object.entries(state)) {
    const marks = marksOf(hcc, marksFrom[name]);
    for (const k of marks.env ?? []) {
      const v = hcc.container.config.env?.[k];
      if (v !== undefined && !isSealed(v)) found.push(`container "${name}" env.${k}`);
    }
    for (const p of marks.configFiles ?? []) {
      const v = hcc.configFiles?.[p];
      if (v !== undefined && !isSealed(v)) found.push(`container "${name}" file ${p}`);
    }
  }
  return found;
}

/** The digest of every sensitive value of a (sealed) state, by `container "a" env.PW`: what a saved plan was made with. */
export function secretDigests(sealed: ContainersState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, hcc] of Object.entries(sealed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const k of hcc.sensitive?.env ?? []) {
      const v = hcc.container.config.env?.[k];
      if (v !== undefined) out[`container "${name}" env.${k}`] = v;
    }
    for (const p of hcc.sensitive?.configFiles ?? []) {
      const v = hcc.configFiles?.[p];
      if (v !== undefined) out[`container "${name}" file ${p}`] = v;
    }
  }
  return out;
}

/** Every sensitive value of a (plain) state: what berth must never print. */
export function secretValues(state: ContainersState): string[] {
  const out = new Set<string>();
  for (const hcc of Object.values(state)) {
    for (const k of hcc.sensitive?.env ?? []) {
      const v = hcc.container.config.env?.[k];
      if (v !== undefined && v !== "" && !isSealed(v)) out.add(v);
    }
    for (const p of hcc.sensitive?.configFiles ?? []) {
      const v = hcc.configFiles?.[p];
      if (v !== undefined && v !== "" && !isSealed(v)) out.add(v);
    }
  }
  return [...out];
}

/** Whether a state has sensitive values (marked, or sealed by an earlier run): then it needs the digest key. */
export function hasSecrets(state: ContainersState): boolean {
  return Object.values(state).some((hcc) =>
    (hcc.sensitive?.env?.length ?? 0) > 0 || (hcc.sensitive?.configFiles?.length ?? 0) > 0 ||
    Object.values(hcc.container.config.env ?? {}).some(isSealed) || Object.values(hcc.configFiles ?? {}).some(isSealed)
  );
}

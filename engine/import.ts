/**
 * `berth import NAME`: a container that runs on its host under the config's
 * name but was not made by berth (or not recorded) is taken into the state,
 * like `terraform import`. What the engine reports is compared with the
 * config, field by field (canonical forms, as the plan compares configs):
 * when it matches, the desired config is recorded with the container's id,
 * so the next plan leaves it running; when it does not, the settings found
 * are recorded instead, so the next plan shows the difference as a recreate.
 *
 * @module
 */
import { containerFields, inPlaceSettings } from "../core/fields.ts";
import type { ContainerConfig, HostConfiguredContainer, Mount } from "../core/model.ts";
import { type DiffLine, diffValues } from "./diff.ts";

/** What an import found and recorded. */
export interface ImportResult {
  /** The config key. */
  name: string;
  /** The host's label (its address, or `local`). */
  host: string;
  /** The container's id on the engine. */
  id: string;
  /** Its status as the engine reports it (`running`, `exited`, ...). */
  status: string;
  /** Config -> engine differences (`before`: what the engine has, `after`: what the config wants). */
  diff: DiffLine[];
  /** Fields the config sets that could not be read back from the engine, so were not compared. */
  notCompared: string[];
}

/** Fields compared whether or not the config sets them: what the engine has by default is their absence. */
const ALWAYS = new Set<keyof ContainerConfig>(["image", "ports", "mounts", "privileged", "init"]);

/**
 * Compares the engine's report with the desired container and says what to record.
 *
 * @param want The desired container, secrets sealed (as the state records them).
 * @param plainEnv The desired environment with secret values in clear, to compare with the engine's.
 * @param found The engine's settings in config form (`ObservedContainer.config`).
 * @param compared The fields `found` reads back.
 * @param seal Turns an engine value of a secret env var into what the state records.
 * @returns The differences, the fields not compared, and the config to record.
 */
export function compareForImport(
  want: HostConfiguredContainer,
  plainEnv: Record<string, string>,
  found: Partial<ContainerConfig>,
  compared: readonly (keyof ContainerConfig)[],
  seal: (value: string) => string,
): { diff: DiffLine[]; notCompared: string[]; record: ContainerConfig } {
  const config = want.container.config;
  const secret = new Set(want.sensitive?.env ?? []);
  const record: Record<string, unknown> = { ...config };
  const diff: DiffLine[] = [];
  const canonical = new Map(containerFields().map(([key, field]) => [key, field.canonical]));
  const form = (key: keyof ContainerConfig, value: unknown) =>
    value === undefined ? undefined : (canonical.get(key) as (v: unknown) => unknown)(normalised(key, value));
  for (const key of compared) {
    if (key === "env") {
      const env: Record<string, string> = { ...(config.env ?? {}) };
      for (const [k, value] of Object.entries(plainEnv)) {
        const there = found.env?.[k];
        if (there === value) continue;
        if (there === undefined) delete env[k];
        else env[k] = secret.has(k) ? seal(there) : there;
        diff.push(
          secret.has(k)
            ? { op: there === undefined ? "+" : "~", path: `env.${k}`, sensitive: true }
            : diffValues(there, value, `env.${k}`)[0] as DiffLine,
        );
      }
      if (Object.keys(env).length > 0) record["env"] = env;
      else delete record["env"];
      continue;
    }
    if (key === "networkMode" && config.networks !== undefined) continue; // the engine names the first network
    // Unset in the config: the image's command, directory and user are not compared; a network mode is.
    const compare = config[key] !== undefined || ALWAYS.has(key) ||
      (key === "networkMode" && found.networkMode !== undefined);
    if (!compare) continue;
    const there = form(key, found[key]);
    const wanted = form(key, config[key]);
    const lines = diffValues(there, wanted, key);
    if (lines.length === 0) continue;
    diff.push(...lines);
    if (found[key] === undefined) delete record[key];
    else record[key] = found[key];
  }
  // Settings the engine changes in place are compared by the plan that follows (an update, never a recreate).
  const inPlace = new Set(Object.keys(inPlaceSettings(config)));
  const notCompared = (Object.keys(config) as Array<keyof ContainerConfig>)
    .filter((key) => key !== "name" && !compared.includes(key) && !inPlace.has(key) && config[key] !== undefined)
    .sort();
  return { diff, notCompared, record: record as unknown as ContainerConfig };
}

/** The engine reports bind sources without berth's trailing "/" (a directory mount). */
function normalised(key: keyof ContainerConfig, value: unknown): unknown {
  if (key !== "mounts") return value;
  return (value as Mount[]).map((m) =>
    m.source !== undefined && m.source.length > 1 && (m.type ?? "bind") === "bind"
      ? { ...m, source: m.source.replace(/\/+$/, "") }
      : m
  );
}

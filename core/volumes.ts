/**
 * Named volumes in berth's config: declared once at the top level
 * (`volumes: { data: { driver, options } }`), mounted by name
 * (`{ type: volume, source: data, target: /data }`). Reading the config puts
 * each declaration into the mounts that use it, so the runtime creates the
 * volume, on each host where it is mounted, when it is missing; the declared
 * names go to the plan, which removes a volume only when its name left `volumes:`.
 *
 * @module
 */
import type { ContainersState, Mount } from "./model.ts";
import type { Problem } from "./problem.ts";
import { volumeNameRule } from "./rules.ts";
import { at, type Fields, isMapping, mapOf, mapping, own, quote, report, string } from "./shape.ts";
import { suggest } from "./suggest.ts";

/** A volume as `volumes:` declares it. */
export interface VolumeDeclaration {
  /** Volume driver; `local` when not set. */
  driver?: string;
  /** The driver's options (for `local`: type, device, o). */
  options?: Record<string, string>;
}

const VOLUME_FIELDS: Fields = {
  driver: { check: string(), description: "Volume driver; local when not set." },
  options: {
    check: mapOf((key) => (key === "" ? "option names cannot be empty" : undefined), string(), "driver options"),
    description: "The driver's options, such as type, device and o for local.",
  },
};

/** The check of the top-level `volumes:`. */
export const volumesCheck = mapOf(
  volumeNameRule,
  mapping(VOLUME_FIELDS),
  "volumes (name: {driver, options}, or {})",
  { pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$" },
);

/**
 * Every volume mount of the raw config's containers names a declared volume
 * (else: did you mean), and leaves driver and options to the declaration.
 */
export function checkVolumeReferences(doc: Record<string, unknown>, problems: Problem[]): void {
  const volumes = own(doc, "volumes");
  const declared = isMapping(volumes) ? Object.keys(volumes) : [];
  const containers = own(doc, "containers");
  if (!isMapping(containers)) return;
  for (const name of Object.keys(containers)) {
    const entry = containers[name];
    const mounts = isMapping(entry) ? own(entry, "mounts") : undefined;
    if (!Array.isArray(mounts)) continue;
    mounts.forEach((mount: unknown, index) => {
      if (!isMapping(mount) || own(mount, "type") !== "volume") return;
      const path = at(at(at("containers", name), "mounts"), index);
      for (const key of ["driver", "driverOptions"]) {
        if (own(mount, key) !== undefined) {
          report(
            problems,
            at(path, key),
            `declare the volume's ${key === "driver" ? "driver" : "options"} under volumes: instead`,
          );
        }
      }
      const source = own(mount, "source");
      if (typeof source !== "string" || declared.includes(source)) return;
      const guess = suggest(source, declared);
      const fix = guess !== undefined ? `did you mean \`${guess}\`?` : `declare it: volumes: { ${source}: {} }`;
      report(problems, at(path, "source"), `volume ${quote(source)} is not declared under volumes:; ${fix}`);
    });
  }
}

/** Puts each volume's declaration (driver, options) into the mounts that use it. */
export function applyVolumeDeclarations(state: ContainersState, volumes: Record<string, VolumeDeclaration>): void {
  if (Object.keys(volumes).length === 0) return; // nothing declared, so no mount names a declaration
  for (const hcc of Object.values(state)) {
    const mounts = hcc.container.config.mounts;
    if (mounts === undefined) continue;
    hcc.container.config.mounts = mounts.map((mount): Mount => {
      const declared = mount.type === "volume" ? volumes[mount.source as string] : undefined;
      if (declared === undefined) return mount;
      return {
        ...mount,
        ...(declared.driver !== undefined && declared.driver !== "" && { driver: declared.driver }),
        ...(declared.options !== undefined && Object.keys(declared.options).length > 0 &&
          { driverOptions: { ...declared.options } }),
      };
    });
  }
}

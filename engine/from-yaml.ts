/**
 * libflexkube's `pkg/container` `FromYaml`: a resource from a YAML (or JSON) document.
 *
 * @module
 */
import { configFromDocument, type ConfigOptions } from "../core/config.ts";
import { parseDocument } from "../core/serialize.ts";
import { ContainersResource, type ContainersResourceOptions } from "./containers.ts";

/** Options of {@link fromYaml}. */
export interface FromYamlOptions extends ContainersResourceOptions, ConfigOptions {
  /** Name of the document in messages; default `config.yaml`. */
  source?: string;
  /** The previous state, when the document does not carry one (e.g. read from state.yaml). */
  previousState?: ContainersResource["previousState"];
}

/**
 * Reads berth's config format or a flexkube containers document
 * (`previousState`/`desiredState`, or the CLI's `containers:` groups) and
 * validates it.
 *
 * @param text YAML or JSON.
 * @returns A resource ready for `checkCurrentState()`.
 * @throws {ValidationError} Listing every problem with its path.
 *
 * @example
 * ```ts
 * import { fromYaml } from "./from-yaml.ts";
 * const resource = fromYaml(`
 * hosts: { local: { direct: {} } }
 * containers:
 *   web: { host: local, image: "nginx:1.27" }
 * `);
 * if (Object.keys(resource.desiredState()).join() !== "web") throw new Error("wrong");
 * ```
 */
export function fromYaml(text: string, options: FromYamlOptions = {}): ContainersResource {
  const source = options.source ?? "config.yaml";
  const config = configFromDocument(parseDocument(text, source), source, options);
  const previousState = config.previousState ?? options.previousState ?? {};
  return new ContainersResource({ desiredState: config.desiredState, previousState }, {
    ...options,
    ...(config.volumes === undefined ? {} : { volumes: config.volumes }),
    ...(config.networks === undefined ? {} : { networks: config.networks }),
  });
}

/**
 * Picks the runtime plugin named by a container's runtime config and loads
 * it with a dynamic `import()`, so plugins that are not configured never load.
 *
 * @module
 */
import { BerthError } from "../core/errors.ts";
import type { RuntimeConfig } from "../core/model.ts";
import type { Transport } from "../transports/transport.ts";
import type { Runtime } from "./runtime.ts";
import type { PullProgress } from "./docker/image.ts";

/** What every plugin factory receives besides its own settings. */
export interface LoadRuntimeOptions {
  /** The connection to the host the runtime is bound to. */
  transport: Transport;
  /** How the host is named in messages. */
  hostLabel: string;
  /** Told every progress message of an image pull (a long pull reports progress, it does not time out). */
  onProgress?: (image: string, progress: PullProgress) => void;
}

/**
 * Loads the runtime plugin the config names and binds it to a host.
 *
 * @param runtime The runtime config (exactly one key set).
 * @param options The host's transport and label.
 * @returns The runtime.
 * @throws {BerthError} VALIDATION when no known plugin is named.
 *
 * @example
 * ```ts
 * import { loadRuntime } from "./registry.ts";
 * import { directTransport } from "../transports/direct.ts";
 * const runtime = await loadRuntime({ docker: {} }, { transport: directTransport(), hostLabel: "local" });
 * if (runtime.filesNeedRunningContainer) throw new Error("docker copies files without starting");
 * await runtime.close();
 * ```
 */
export async function loadRuntime(runtime: RuntimeConfig, options: LoadRuntimeOptions): Promise<Runtime> {
  if (runtime.docker !== undefined) {
    const { dockerRuntime } = await import("./docker/mod.ts");
    return dockerRuntime(runtime.docker, options);
  }
  if (runtime.kubelet !== undefined) {
    const { kubeletRuntime } = await import("./kubelet/mod.ts");
    return kubeletRuntime(runtime.kubelet, options);
  }
  throw new BerthError(
    "VALIDATION",
    `host ${options.hostLabel}: the runtime config names no known runtime (known: docker, kubelet)`,
  );
}

/**
 * The body of `POST /containers/create` for a berth container config.
 *
 * @module
 */
import { containerFields } from "../../core/fields.ts";
import type { ContainerConfig } from "../../core/model.ts";
import type { CreateOptions } from "../runtime.ts";

/** The fields of the engine's create request that berth sets. */
export interface CreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Env?: string[];
  User?: string;
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  HostConfig: {
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    Mounts?: Array<
      { Type: "bind"; Source: string; Target: string; ReadOnly?: boolean; BindOptions?: { Propagation: string } }
    >;
    Privileged?: boolean;
    NetworkMode?: string;
    PidMode?: string;
    IpcMode?: string;
    Init?: boolean;
    RestartPolicy: { Name: string };
  };
}

/** How one config field goes into the create request. */
type DockerField<V> = (value: V, body: CreateBody, config: ContainerConfig) => void;

/** Numeric 0 rather than "root" when only the group is set: images without /etc/passwd cannot resolve names. */
function setUser(body: CreateBody, config: ContainerConfig): void {
  body.User = config.group === undefined ? (config.user as string) : `${config.user ?? "0"}:${config.group}`;
}

/**
 * Every field of core/fields.ts, mapped to the Docker Engine API in one place
 * (the compiler, and tests/unit/fields.test.ts, fail when one is missing).
 */
export const DOCKER_MAPPING: { readonly [K in keyof ContainerConfig]-?: DockerField<NonNullable<ContainerConfig[K]>> } =
  {
    // The name goes in the request's query string (`?name=`), not in the body.
    name: () => {},
    image: (image, body) => void (body.Image = image),
    args: (args, body) => void (body.Cmd = args),
    entrypoint: (entrypoint, body) => void (body.Entrypoint = entrypoint),
    workingDir: (dir, body) => void (body.WorkingDir = dir),
    ports: (ports, body) => {
      if (ports.length === 0) return;
      body.ExposedPorts = {};
      const bindings: NonNullable<CreateBody["HostConfig"]["PortBindings"]> = {};
      for (const port of ports) {
        const key = `${port.port}/${port.protocol ?? "tcp"}`;
        body.ExposedPorts[key] = {};
        (bindings[key] ??= []).push({ HostIp: port.ip ?? "", HostPort: String(port.port) });
      }
      body.HostConfig.PortBindings = bindings;
    },
    mounts: (mounts, body) => {
      if (mounts.length === 0) return;
      body.HostConfig.Mounts = mounts.map((mount) => ({
        Type: "bind" as const,
        // A trailing "/" marks a directory mount for berth; the engine wants the plain path.
        Source: mount.source.length > 1 ? mount.source.replace(/\/+$/, "") : mount.source,
        Target: mount.target,
        ...(mount.propagation !== undefined && { BindOptions: { Propagation: mount.propagation } }),
      }));
    },
    privileged: (privileged, body) => void (body.HostConfig.Privileged = privileged),
    networkMode: (mode, body) => void (body.HostConfig.NetworkMode = mode),
    pidMode: (mode, body) => void (body.HostConfig.PidMode = mode),
    ipcMode: (mode, body) => void (body.HostConfig.IpcMode = mode),
    user: (_user, body, config) => setUser(body, config),
    group: (_group, body, config) => setUser(body, config),
    env: (env, body) => {
      body.Env = Object.entries(env)
        .map(([key, value]) => `${key}=${value}`)
        .sort();
    },
    init: (init, body) => void (body.HostConfig.Init = init),
  };

/**
 * Builds the create request body.
 *
 * @param config The container config.
 * @param options Labels, restart policy, whether every mount is read-only.
 * @returns The JSON body.
 *
 * @example
 * ```ts
 * import { createBody } from "./create-body.ts";
 * const body = createBody({ name: "web", image: "nginx", ports: [{ port: 80 }], env: { B: "2", A: "1" } }, {});
 * if (body.Env?.join() !== "A=1,B=2" || body.HostConfig.PortBindings?.["80/tcp"]?.[0]?.HostPort !== "80") throw new Error("wrong");
 * ```
 */
export function createBody(
  config: ContainerConfig,
  options: Pick<CreateOptions, "labels" | "restartPolicy" | "readOnlyMounts">,
): CreateBody {
  const host: CreateBody["HostConfig"] = { RestartPolicy: { Name: options.restartPolicy ?? "unless-stopped" } };
  const body: CreateBody = { Image: config.image, Labels: { ...options.labels }, HostConfig: host };
  for (const [key] of containerFields()) {
    const value = config[key];
    if (value !== undefined) (DOCKER_MAPPING[key] as DockerField<unknown>)(value, body, config);
  }
  if (options.readOnlyMounts === true) { for (const mount of host.Mounts ?? []) mount.ReadOnly = true; }
  return body;
}

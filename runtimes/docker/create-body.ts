/**
 * The body of `POST /containers/create` for a berth container config.
 *
 * @module
 */
import type { ContainerConfig } from "../../core/model.ts";
import type { CreateOptions } from "../runtime.ts";

/** The fields of the engine's create request that berth sets. */
export interface CreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
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

/**
 * Builds the create request body.
 *
 * @param config The container config.
 * @param options Labels and restart policy.
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
  if (config.args !== undefined) body.Cmd = config.args;
  if (config.entrypoint !== undefined) body.Entrypoint = config.entrypoint;
  if (config.env !== undefined) {
    body.Env = Object.entries(config.env)
      .map(([key, value]) => `${key}=${value}`)
      .sort();
  }
  if (config.user !== undefined || config.group !== undefined) {
    // Numeric 0 rather than "root": images without /etc/passwd cannot resolve names.
    body.User = config.group === undefined ? (config.user as string) : `${config.user ?? "0"}:${config.group}`;
  }
  if (config.ports !== undefined && config.ports.length > 0) {
    body.ExposedPorts = {};
    host.PortBindings = {};
    for (const port of config.ports) {
      const key = `${port.port}/${port.protocol ?? "tcp"}`;
      body.ExposedPorts[key] = {};
      (host.PortBindings[key] ??= []).push({ HostIp: port.ip ?? "", HostPort: String(port.port) });
    }
  }
  if (config.mounts !== undefined && config.mounts.length > 0) {
    host.Mounts = config.mounts.map((mount) => ({
      Type: "bind" as const,
      // A trailing "/" marks a directory mount for berth; the engine wants the plain path.
      Source: mount.source.length > 1 ? mount.source.replace(/\/+$/, "") : mount.source,
      Target: mount.target,
      ...(options.readOnlyMounts === true && { ReadOnly: true }),
      ...(mount.propagation !== undefined && { BindOptions: { Propagation: mount.propagation } }),
    }));
  }
  if (config.privileged !== undefined) host.Privileged = config.privileged;
  if (config.networkMode !== undefined) host.NetworkMode = config.networkMode;
  if (config.pidMode !== undefined) host.PidMode = config.pidMode;
  if (config.ipcMode !== undefined) host.IpcMode = config.ipcMode;
  if (config.init !== undefined) host.Init = config.init;
  return body;
}

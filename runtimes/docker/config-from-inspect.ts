/**
 * A container's settings as the engine reports them, read back into
 * berth's config form for the fields `berth import` compares: what a person
 * chose when they created it (image, command, environment, ports, mounts,
 * network, user, privileges). Fields this does not read back are not
 * compared (`IMPORT_COMPARED` lists the ones it does).
 *
 * @module
 */
import type { ContainerConfig, Mount, PortMap } from "../../core/model.ts";

/** The config fields read back from an inspect answer. */
export const IMPORT_COMPARED = [
  "image",
  "entrypoint",
  "args",
  "workingDir",
  "env",
  "ports",
  "mounts",
  "networkMode",
  "privileged",
  "init",
  "user",
  "group",
] as const satisfies ReadonlyArray<keyof ContainerConfig>;

/** The part of the engine's inspect answer read here (a container made by anyone). */
export interface InspectedSettings {
  Config: {
    Image: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
  };
  HostConfig?: {
    PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
    Binds?: string[] | null;
    Mounts?:
      | Array<{
        Type?: string;
        Source?: string;
        Target?: string;
        ReadOnly?: boolean;
        BindOptions?: { Propagation?: string };
        TmpfsOptions?: { SizeBytes?: number; Mode?: number };
      }>
      | null;
    NetworkMode?: string;
    Privileged?: boolean;
    Init?: boolean | null;
  };
}

/**
 * The settings of `info` in config form; a field is absent where the engine
 * reports its default (no command of its own, no ports, `default` network).
 * Port bindings to another host port than the container's cannot be said in
 * berth's config: they are left out (and so differ from any config).
 *
 * @example
 * ```ts
 * import { configFromInspect } from "./config-from-inspect.ts";
 * const config = configFromInspect({
 *   Config: { Image: "nginx:1", Env: ["A=1"], User: "1000:50" },
 *   HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "80" }] }, Binds: ["/srv:/data:ro"] },
 * });
 * if (JSON.stringify(config) !== '{"image":"nginx:1","env":{"A":"1"},"user":"1000","group":"50","ports":[{"port":80}],"mounts":[{"source":"/srv","target":"/data","readOnly":true}]}') throw new Error(JSON.stringify(config));
 * ```
 */
export function configFromInspect(info: InspectedSettings): Partial<ContainerConfig> {
  const c = info.Config;
  const h = info.HostConfig ?? {};
  const out: Partial<ContainerConfig> = { image: c.Image };
  if (c.Entrypoint) out.entrypoint = c.Entrypoint;
  if (c.Cmd) out.args = c.Cmd;
  if (c.WorkingDir) out.workingDir = c.WorkingDir;
  if (c.Env && c.Env.length > 0) {
    out.env = Object.fromEntries(c.Env.map((line) => {
      const at = line.indexOf("=");
      return at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
    }));
  }
  if (c.User) {
    const [user, group] = c.User.split(":");
    if (user) out.user = user;
    if (group) out.group = group;
  }
  const ports = portsOf(h.PortBindings ?? {});
  if (ports.length > 0) out.ports = ports;
  const mounts = [...(h.Binds ?? []).flatMap(bindOf), ...(h.Mounts ?? []).flatMap(mountOf)];
  if (mounts.length > 0) out.mounts = mounts;
  if (h.NetworkMode && h.NetworkMode !== "default" && h.NetworkMode !== "bridge") out.networkMode = h.NetworkMode;
  if (h.Privileged) out.privileged = true;
  if (h.Init) out.init = true;
  return out;
}

function portsOf(bindings: NonNullable<NonNullable<InspectedSettings["HostConfig"]>["PortBindings"]>): PortMap[] {
  const ports: PortMap[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const [number, protocol] = key.split("/");
    const port = Number(number);
    for (const b of list ?? []) {
      if (b.HostPort !== undefined && b.HostPort !== "" && b.HostPort !== number) continue;
      ports.push({
        port,
        ...(b.HostIp ? { ip: b.HostIp } : {}),
        ...(protocol === undefined || protocol === "tcp"
          ? {}
          : { protocol: protocol as NonNullable<PortMap["protocol"]> }),
      });
    }
  }
  return ports;
}

/** `docker run -v /src:/dst:ro,rslave`; a named volume when the source is not a path. */
function bindOf(bind: string): Mount[] {
  const [source, target, options = ""] = bind.split(":");
  if (source === undefined || target === undefined) return [];
  const flags = options.split(",");
  const propagation = flags.find((f) => /^r?(private|shared|slave)$/.test(f));
  return [{
    ...(source.startsWith("/") ? {} : { type: "volume" as const }),
    source,
    target,
    ...(flags.includes("ro") ? { readOnly: true } : {}),
    ...(propagation === undefined ? {} : { propagation }),
  }];
}

function mountOf(m: NonNullable<NonNullable<InspectedSettings["HostConfig"]>["Mounts"]>[number]): Mount[] {
  if (m.Target === undefined) return [];
  const readOnly = m.ReadOnly === true ? { readOnly: true } : {};
  if (m.Type === "tmpfs") {
    const o = m.TmpfsOptions ?? {};
    return [{
      type: "tmpfs",
      target: m.Target,
      ...readOnly,
      ...(o.SizeBytes ? { size: o.SizeBytes } : {}),
      ...(o.Mode ? { mode: o.Mode.toString(8) } : {}),
    }];
  }
  const propagation = m.BindOptions?.Propagation;
  return [{
    ...(m.Type === "volume" ? { type: "volume" as const } : {}),
    ...(m.Source === undefined ? {} : { source: m.Source }),
    target: m.Target,
    ...readOnly,
    ...(propagation === undefined || propagation === "" ? {} : { propagation }),
  }];
}

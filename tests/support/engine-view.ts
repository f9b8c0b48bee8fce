/**
 * Views of an engine's containers that share no code with berth's runtimes,
 * for tests to check what berth did: raw HTTP to a Docker engine's socket,
 * and `ctr` plus the CRI plugin's own status files for containerd.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { dockerLocal } from "./env.ts";

/** One container as the engine itself reports it. */
export interface SeenContainer {
  /** Docker: the container id; containerd: the pod sandbox id (berth's id for a CRI container). */
  id: string;
  name: string;
  /** `created`, `running`, `exited` (Docker may also say `paused`, `restarting`, `dead`). */
  status: string;
  labels: Record<string, string>;
}

/** Every container of one engine. */
export interface EngineView {
  /** What it looks at, for messages: `docker at /path/docker.sock`. */
  readonly where: string;
  /** All containers, berth's or not (CRI: every pod sandbox, with its container's status). */
  list(): Promise<SeenContainer[]>;
  /** One container by id or name; undefined when there is none. */
  inspect(idOrName: string): Promise<SeenContainer | undefined>;
}

/** A Docker engine through raw HTTP on its unix socket. */
export function dockerView(socket: string): EngineView {
  const where = `docker at ${socket}`;
  return {
    where,
    async list() {
      const { status, body } = await dockerLocal("/containers/json?all=1", { socket });
      if (status !== 200) throw new Error(`listing containers of ${where}: HTTP ${status} ${JSON.stringify(body)}`);
      return (body as Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> | null }>)
        .map((c) => ({
          id: c.Id,
          name: (c.Names[0] ?? "").replace(/^\//, ""),
          status: c.State,
          labels: c.Labels ?? {},
        }));
    },
    async inspect(idOrName) {
      const { status, body } = await dockerLocal(`/containers/${encodeURIComponent(idOrName)}/json`, { socket });
      if (status === 404) return undefined;
      if (status !== 200) throw new Error(`inspecting ${idOrName} on ${where}: HTTP ${status} ${JSON.stringify(body)}`);
      const c = body as {
        Id: string;
        Name: string;
        State: { Status: string };
        Config: { Labels: Record<string, string> | null };
      };
      return { id: c.Id, name: c.Name.replace(/^\//, ""), status: c.State.Status, labels: c.Config.Labels ?? {} };
    },
  };
}

interface CtrInfo {
  ID: string;
  Labels: Record<string, string> | null;
  Extensions?: Record<string, { value: string }>;
}

/**
 * A containerd with the CRI plugin, through `ctr -n k8s.io` on its socket and
 * the status files the CRI plugin keeps under its root (`<socket dir>/root`,
 * as tests/env/containerd.sh lays it out).
 */
export function containerdView(socket: string): EngineView {
  const where = `containerd at ${socket}`;
  const criRoot = `${dirname(socket)}/root/io.containerd.grpc.v1.cri`;
  const ctr = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        "ctr",
        ["-a", socket, "-n", "k8s.io", ...args],
        { timeout: 30_000, maxBuffer: 64 << 20 },
        (err, out, e) => {
          if (err === null) resolve(out);
          else reject(new Error(`ctr ${args.join(" ")} on ${where}: ${e.trim() || err.message}`, { cause: err }));
        },
      );
    });
  const metadata = (info: CtrInfo, kind: "sandbox" | "container") => {
    const ext = info.Extensions?.[`io.cri-containerd.${kind}.metadata`];
    if (ext === undefined) return undefined;
    return (JSON.parse(Buffer.from(ext.value, "base64").toString("utf8")) as {
      Metadata: { SandboxID?: string; Config: { metadata: { name: string } } };
    }).Metadata;
  };
  // CRI records a container's life in <root>/containers/<id>/status (nanosecond times, 0 when not yet).
  const statusOf = (containerId: string): string => {
    const s = JSON.parse(readFileSync(`${criRoot}/containers/${containerId}/status`, "utf8")) as {
      StartedAt: number;
      FinishedAt: number;
    };
    return s.FinishedAt !== 0 ? "exited" : s.StartedAt !== 0 ? "running" : "created";
  };
  const list = async (): Promise<SeenContainer[]> => {
    const ids = (await ctr(["containers", "ls", "-q"])).split("\n").filter((l) => l !== "");
    const infos: CtrInfo[] = [];
    for (const id of ids) {
      try {
        infos.push(JSON.parse(await ctr(["containers", "info", id])) as CtrInfo);
      } catch (err) {
        // Removed between the listing and now.
        if (!/not found/.test(String(err))) throw err;
      }
    }
    const statusBySandbox = new Map<string, string>();
    for (const info of infos) {
      const m = info.Labels?.["io.cri-containerd.kind"] === "container" ? metadata(info, "container") : undefined;
      if (m?.SandboxID !== undefined) statusBySandbox.set(m.SandboxID, statusOf(info.ID));
    }
    return infos.filter((i) => i.Labels?.["io.cri-containerd.kind"] === "sandbox").map((i) => {
      const { "io.cri-containerd.kind": _kind, ...labels } = i.Labels ?? {};
      return {
        id: i.ID,
        name: metadata(i, "sandbox")?.Config.metadata.name ?? "",
        // A sandbox whose container is gone (or not made yet) counts as created.
        status: statusBySandbox.get(i.ID) ?? "created",
        labels,
      };
    });
  };
  return {
    where,
    list,
    async inspect(idOrName) {
      return (await list()).find((c) => c.id === idOrName || c.name === idOrName);
    },
  };
}

/** berth's containers (label `berth.managed=true`, helpers included) of a view. */
export async function berthContainers(view: EngineView): Promise<SeenContainer[]> {
  return (await view.list()).filter((c) => c.labels["berth.managed"] === "true");
}

/**
 * The pod sandboxes of one berth name as containerd's own client (`ctr`)
 * sees them, not through berth's kubelet runtime: for checks of recreates
 * on CRI, where two generations of a name can exist at once.
 */
import { execFileSync } from "node:child_process";

/** One sandbox of the name: whether its main container has a running task, and that container's environment. */
export interface SeenSandbox {
  running: boolean;
  env: string[];
}

/** The sandboxes labelled `berth.name` = `name` on the containerd at `socket`, by sandbox id. */
export function criSandboxes(socket: string, name: string): Map<string, SeenSandbox> {
  const ctr = (...args: string[]) =>
    execFileSync("ctr", ["-a", socket, "-n", "k8s.io", ...args], { encoding: "utf8", timeout: 30_000 });
  const ids = ctr("containers", "ls", "-q", `labels."berth.name"==${name}`).split("\n").filter((l) => l !== "");
  const running = new Set(
    ctr("tasks", "ls").split("\n").slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === "RUNNING")
      .map((f) => f[0]),
  );
  const sandboxes = new Map<string, SeenSandbox>();
  const mains: Array<{ id: string; sandbox: string; env: string[] }> = [];
  for (const id of ids) {
    const info = JSON.parse(ctr("containers", "info", id)) as {
      Labels: Record<string, string>;
      Extensions: Record<string, { value: string }>;
      Spec?: { process?: { env?: string[] } };
    };
    const kind = info.Labels["io.cri-containerd.kind"];
    const ext = info.Extensions[`io.cri-containerd.${kind}.metadata`];
    const meta = JSON.parse(Buffer.from(ext?.value ?? "", "base64").toString("utf8")) as {
      Metadata: { SandboxID?: string; Config: { metadata: { name: string } } };
    };
    if (kind === "sandbox") sandboxes.set(id, { running: false, env: [] });
    // The main container has the berth name as its metadata name (log readers and the rotator have theirs).
    else if (meta.Metadata.Config.metadata.name === name) {
      mains.push({ id, sandbox: meta.Metadata.SandboxID ?? "", env: info.Spec?.process?.env ?? [] });
    }
  }
  for (const m of mains) {
    const seen = sandboxes.get(m.sandbox);
    // Of several attempts in one sandbox, the running one tells.
    if (seen !== undefined && (running.has(m.id) || !seen.running)) {
      sandboxes.set(m.sandbox, { running: running.has(m.id), env: m.env });
    }
  }
  return sandboxes;
}

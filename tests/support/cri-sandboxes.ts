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
    execFileSync("ctr", ["-a", socket, "-n", "k8s.io", ...args], { encoding: "utf8", timeout: 30_000, stdio: "pipe" });
  const ids = ctr("containers", "ls", "-q", `labels."berth.name"==${name}`).split("\n").filter((l) => l !== "");
  const sandboxes = new Map<string, SeenSandbox>();
  const mains: Array<{ id: string; sandbox: string; env: string[] }> = [];
  for (const id of ids) {
    // Right after berth was killed, containerd may still be finishing a removal berth sent: a container listed
    // a moment ago can be gone now, and is not there to count.
    const text = infoOrGone(() => ctr("containers", "info", id));
    if (text === undefined) continue;
    const info = JSON.parse(text) as {
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
  const running = runningTasks(ctr, mains.map((m) => m.id));
  for (const m of mains) {
    const seen = sandboxes.get(m.sandbox);
    // Of several attempts in one sandbox, the running one tells.
    if (seen !== undefined && (running.has(m.id) || !seen.running)) {
      sandboxes.set(m.sandbox, { running: running.has(m.id), env: m.env });
    }
  }
  return sandboxes;
}

/** How long {@link runningTasks} asks again about a task containerd cannot tell the state of. */
const UNKNOWN_WAIT_MS = 45_000;

/**
 * Which of `ids` have a running task, as `ctr tasks ls` says. containerd lists
 * a task UNKNOWN when its shim does not answer within 2 s: an exec whose
 * caller (berth) was killed mid-call can hold the shim until the exec's
 * timeout (30 s for a healthcheck gate) while the container runs on. Such a
 * task is asked about again, for at most UNKNOWN_WAIT_MS, not taken for stopped.
 */
function runningTasks(ctr: (...args: string[]) => string, ids: string[]): Set<string> {
  const deadline = Date.now() + UNKNOWN_WAIT_MS;
  for (;;) {
    const rows = ctr("tasks", "ls").split("\n").slice(1).map((l) => l.trim().split(/\s+/));
    if (Date.now() >= deadline || !rows.some((f) => ids.includes(f[0] ?? "") && f[2] === "UNKNOWN")) {
      return new Set(rows.filter((f) => f[2] === "RUNNING").map((f) => f[0] ?? ""));
    }
    execFileSync("sleep", ["0.5"]);
  }
}

/** `ctr containers info`'s output, or undefined when the container is gone (`not found`). */
function infoOrGone(info: () => string): string | undefined {
  try {
    return info();
  } catch (err) {
    if (/not found/.test(String((err as { stderr?: unknown }).stderr ?? ""))) return undefined;
    throw err;
  }
}

/**
 * Removes the sandboxes of `name` and every container in them through `ctr`
 * (their tasks killed first), behind the CRI plugin's back: a test's last
 * resort when berth could not remove them, so that later files' census (which
 * counts through `ctr` too) does not find them. Returns the sandbox ids removed.
 */
export function removeCriSandboxes(socket: string, name: string): string[] {
  const ctr = (...args: string[]) =>
    execFileSync("ctr", ["-a", socket, "-n", "k8s.io", ...args], { encoding: "utf8", timeout: 30_000, stdio: "pipe" });
  const sandboxes = [...criSandboxes(socket, name).keys()];
  if (sandboxes.length === 0) return [];
  const members = ctr("containers", "ls", "-q").split("\n").filter((id) => {
    if (id === "" || sandboxes.includes(id)) return false;
    const text = infoOrGone(() => ctr("containers", "info", id));
    const info = text === undefined
      ? undefined
      : JSON.parse(text) as { Extensions?: Record<string, { value: string }> };
    const ext = info?.Extensions?.["io.cri-containerd.container.metadata"];
    if (ext === undefined) return false;
    const meta = JSON.parse(Buffer.from(ext.value, "base64").toString("utf8")) as { Metadata: { SandboxID?: string } };
    return sandboxes.includes(meta.Metadata.SandboxID ?? "");
  });
  // The containers before their sandbox; a task may be gone already, so errors are left to the final check.
  for (const id of [...members, ...sandboxes]) {
    for (
      const args of [["tasks", "kill", "-s", "SIGKILL", id], ["tasks", "delete", "-f", id], [
        "containers",
        "delete",
        id,
      ]]
    ) {
      try {
        ctr(...args);
      } catch { /* checked below */ }
    }
  }
  const left = [...criSandboxes(socket, name).keys()];
  if (left.length > 0) {
    throw new Error(`ctr could not remove the sandboxes ${left.join(", ")} of "${name}" on ${socket}`);
  }
  return sandboxes;
}

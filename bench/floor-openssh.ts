/**
 * floor-openssh (adapted from the shared reference of that name): the bench
 * workload the fastest honest way with the OpenSSH client. Per host one
 * ControlMaster connection that forwards the engine's socket to a local
 * one (`ssh -M -L local.sock:/var/run/docker.sock`), raw Engine API calls
 * over it (4 at a time per host, as berth), and the config file written by
 * `cat` over the same master. Unlike the other floor it keeps no state: the
 * desired spec is hashed into a label, so each run lists a host's
 * containers once (no inspect) and sends the file once, which reports
 * whether it changed (then the host's containers are restarted), as berth
 * finds out what to do itself.
 *
 * Usage: node floor-openssh.mjs SCENARIO WORKLOAD.json SSH_CONFIG FORWARD_DIR
 *   SCENARIO: converge | noop | env | file (all "make it so") | remove
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { type BenchContainer, type BenchHost, containersOf, floorSpec, type Workload } from "./workload.ts";

const PER_HOST = 4;
const TOOL_LABEL = "bench.floor-openssh";
const HASH_LABEL = "bench.floor-openssh.hash";

const q = (s: string): string => `'${s.replaceAll("'", `'"'"'`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `ssh` with `args`, `input` on its stdin; resolves to its stdout. */
function ssh(args: string[], input = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("/usr/bin/ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (c: Buffer) => out.push(c));
    p.stderr.on("data", (c: Buffer) => err.push(c));
    p.on("error", reject);
    p.on(
      "close",
      (code) =>
        code === 0
          ? resolve(Buffer.concat(out).toString())
          : reject(new Error(`ssh ${args.join(" ")}: exit ${code} ${Buffer.concat(err).toString()}`)),
    );
    p.stdin.end(input);
  });
}

const canConnect = (path: string) =>
  new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

/** One host: the master connection, its forwarded engine socket, and API calls over it. */
class Host {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: PER_HOST });
  private constructor(
    readonly host: BenchHost,
    readonly sock: string,
    readonly ctl: string,
    readonly sshConfig: string,
    readonly master: ReturnType<typeof spawn>,
  ) {}

  static async open(host: BenchHost, sshConfig: string, fwdDir: string): Promise<Host> {
    const sock = join(fwdDir, `${host.name}.sock`);
    const ctl = join(fwdDir, `${host.name}.ctl`);
    rmSync(sock, { force: true });
    rmSync(ctl, { force: true });
    const master = spawn("/usr/bin/ssh", [
      ...["-F", sshConfig, "-N", "-M", "-S", ctl, "-o", "ExitOnForwardFailure=yes"],
      ...["-o", "StreamLocalBindUnlink=yes", "-L", `${sock}:/var/run/docker.sock`, `root@${host.address}`],
    ], { stdio: ["ignore", "ignore", "inherit"] });
    let exited = false;
    master.on("exit", () => (exited = true));
    // ssh makes the forwarded socket once authenticated: wait for it.
    for (let i = 0;; i++) {
      if (exited) throw new Error(`ssh to ${host.name} exited`);
      if (existsSync(sock) && await canConnect(sock)) break;
      if (i > 15_000) throw new Error(`tunnel to ${host.name}: timed out`);
      await sleep(2);
    }
    return new Host(host, sock, ctl, sshConfig, master);
  }

  exec(command: string, input?: string): Promise<string> {
    return ssh(["-F", this.sshConfig, "-S", this.ctl, `root@${this.host.address}`, command], input);
  }

  call(method: string, path: string, body?: unknown): Promise<unknown> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.sock,
        agent: this.#agent,
        method,
        path: `/v1.41${path}`,
        headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {},
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.trim()}`));
          else resolve(text === "" ? null : JSON.parse(text));
        });
      });
      req.on("error", reject);
      req.end(data);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    if (this.master.exitCode === null) {
      await new Promise((resolve) => {
        this.master.once("exit", resolve);
        this.master.kill("SIGTERM");
      });
    }
    rmSync(this.sock, { force: true });
    rmSync(this.ctl, { force: true });
  }
}

async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(PER_HOST, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

function createBody(w: Workload, c: BenchContainer): { Labels: Record<string, string> } {
  const { spec, hash } = floorSpec(w, c);
  return { ...spec, Labels: { [TOOL_LABEL]: "1", [HASH_LABEL]: hash } };
}

interface Listed {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/**
 * Sends the file in one command that replaces it (temp file, mode 0600,
 * rename) only when its content differs; prints whether it did.
 */
function syncFile(h: Host): Promise<boolean> {
  const dir = q(h.host.configDir);
  const file = q(h.host.configFile);
  return h.exec(
    `mkdir -p ${dir} && t=$(mktemp -p ${dir}) && cat > "$t" && ` +
      `if cmp -s "$t" ${file}; then rm "$t"; echo same; else chmod 600 "$t" && mv "$t" ${file} && echo changed; fi`,
    h.host.config,
  ).then((out) => out.trim() === "changed");
}

async function onHost(remove: boolean, w: Workload, h: Host): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${TOOL_LABEL}=1`] }));
  const listing = h.call("GET", `/containers/json?all=1&filters=${filters}`) as Promise<Listed[]>;
  if (remove) {
    await pool(await listing, async (c) => void await h.call("DELETE", `/containers/${c.Id}?force=true`));
    return;
  }
  const [list, fileChanged] = await Promise.all([listing, syncFile(h)]);
  const existing = new Map(list.map((c) => [(c.Names[0] ?? "").slice(1), c]));
  const desired = containersOf(w, h.host);
  await pool(desired, async (c) => {
    const body = createBody(w, c);
    const cur = existing.get(c.name);
    if (cur !== undefined && cur.Labels[HASH_LABEL] === body.Labels[HASH_LABEL]) {
      if (fileChanged) await h.call("POST", `/containers/${cur.Id}/restart?t=10`);
      else if (cur.State !== "running") await h.call("POST", `/containers/${cur.Id}/start`);
      return;
    }
    if (cur !== undefined) await h.call("DELETE", `/containers/${cur.Id}?force=true`);
    const { Id } = await h.call("POST", `/containers/create?name=${c.name}`, body) as { Id: string };
    await h.call("POST", `/containers/${Id}/start`);
  });
  const wanted = new Set(desired.map((c) => c.name));
  const extra = [...existing.entries()].filter(([name]) => !wanted.has(name));
  await pool(extra, async ([, c]) => void await h.call("DELETE", `/containers/${c.Id}?force=true`));
}

async function main(): Promise<void> {
  const [scenario, workloadFile, sshConfig, fwdDir] = process.argv.slice(2);
  if (scenario === undefined || workloadFile === undefined || sshConfig === undefined || fwdDir === undefined) {
    throw new Error("usage: floor-openssh SCENARIO WORKLOAD.json SSH_CONFIG FORWARD_DIR");
  }
  const w = JSON.parse(readFileSync(workloadFile, "utf8")) as Workload;
  mkdirSync(fwdDir, { recursive: true });
  const results = await Promise.allSettled(w.hosts.map(async (host) => {
    const h = await Host.open(host, sshConfig, fwdDir);
    try {
      await onHost(scenario === "remove", w, h);
    } finally {
      await h.close();
    }
  }));
  const failed = results.flatMap((r, i) => r.status === "rejected" ? [`${w.hosts[i]?.name}: ${r.reason}`] : []);
  if (failed.length > 0) throw new Error(failed.join("\n"));
}

await main();

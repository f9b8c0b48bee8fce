/**
 * The floor: the bench workload done with raw Engine API calls over one
 * ssh2 connection per host (a `direct-streamlocal` channel per HTTP
 * connection, kept alive), hosts in parallel, containers on one host one
 * after the other (as berth does). No planning: each scenario does exactly
 * the work it needs, found by comparing the workload with what the floor
 * recorded in its own state file; only the no-op check asks the hosts.
 *
 * Usage: node floor.mjs SCENARIO WORKLOAD.json STATE.json
 *   SCENARIO: converge | noop | env | file | remove
 *
 * @module
 */
import { Agent, request } from "node:http";
import type { Duplex } from "node:stream";
import { readFileSync, writeFileSync } from "node:fs";
import { Client } from "ssh2";
import * as tar from "tar-stream";
import { type BenchContainer, type BenchHost, containersOf, MOUNT_TARGET, type Workload } from "./workload.ts";

/** What the floor recorded per host: the config it wrote, and each container's id and env value. */
interface HostState {
  config?: string;
  containers: Record<string, { id: string; env: string }>;
}
type State = Record<string, HostState>;

const SOCKET = "/var/run/docker.sock";

/** One host's engine through one SSH connection. */
class Engine {
  readonly #client: Client;
  readonly #agent: Agent;

  private constructor(client: Client) {
    this.#client = client;
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    // node:http accepts an asynchronous createConnection through its callback;
    // a kept-alive socket gets socket-only calls, which a channel does without.
    (agent as unknown as { createConnection: unknown }).createConnection = (
      _opts: unknown,
      cb: (err: Error | null, s?: Duplex) => void,
    ) => {
      client.openssh_forwardOutStreamLocal(SOCKET, (err, stream) => {
        const self = () => stream;
        cb(
          err ?? null,
          Object.assign(stream, { setKeepAlive: self, setNoDelay: self, setTimeout: self, ref: self, unref: self }),
        );
      });
    };
    this.#agent = agent;
  }

  static connect(host: BenchHost, w: Workload): Promise<Engine> {
    const knownKey = knownHostKey(w.knownHostsFile, host.address);
    return new Promise((resolve, reject) => {
      const client = new Client();
      client.once("ready", () => resolve(new Engine(client)));
      client.once("error", reject);
      client.connect({
        host: host.address,
        port: 22,
        username: "root",
        privateKey: readFileSync(w.privateKeyPath),
        readyTimeout: 30_000,
        hostVerifier: (key: Buffer) => key.toString("base64") === knownKey,
      });
    });
  }

  /** One request; JSON in and out, or raw bytes for archives. */
  call(method: string, path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: Buffer }> {
    const payload = raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    return new Promise((resolve, reject) => {
      const req = request({
        agent: this.#agent,
        method,
        path: `/v1.41${path}`,
        headers: {
          Host: "docker",
          ...(payload === undefined
            ? {}
            : { "Content-Length": payload.length, "Content-Type": raw ? "application/x-tar" : "application/json" }),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const out = Buffer.concat(chunks);
          if (status >= 400) reject(new Error(`${method} ${path}: ${status} ${out.toString()}`));
          else resolve({ status, body: out });
        });
        res.on("error", reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: timed out`)), 60_000);
      req.on("close", () => clearTimeout(timer));
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
    this.#client.end();
  }
}

function knownHostKey(file: string, address: string): string {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [hosts, , key] = line.trim().split(/\s+/);
    if (hosts?.split(",").includes(address) && key !== undefined) return key;
  }
  throw new Error(`no key for ${address} in ${file}`);
}

function createBody(w: Workload, c: BenchContainer): unknown {
  return {
    Image: w.image,
    Cmd: w.command,
    Env: [`BENCH_VALUE=${c.env}`],
    HostConfig: {
      Mounts: [{ Type: "bind", Source: c.configDir, Target: MOUNT_TARGET }],
      NetworkMode: "host",
      Init: true,
      RestartPolicy: { Name: "unless-stopped" },
    },
  };
}

async function createStart(e: Engine, w: Workload, c: BenchContainer): Promise<string> {
  const { body } = await e.call("POST", `/containers/create?name=${c.name}`, createBody(w, c));
  const id = (JSON.parse(body.toString()) as { Id: string }).Id;
  await e.call("POST", `/containers/${id}/start`);
  return id;
}

/** Runs `fn` with a short-lived helper container that bind-mounts the host's `/` (never started). */
async function withHelper<T>(e: Engine, w: Workload, host: BenchHost, fn: (id: string) => Promise<T>): Promise<T> {
  const { body } = await e.call("POST", `/containers/create?name=floor-${host.name}-files`, {
    Image: w.image,
    Cmd: ["sleep", "3600"],
    HostConfig: { Mounts: [{ Type: "bind", Source: "/", Target: "/mnt/host" }] },
  });
  const id = (JSON.parse(body.toString()) as { Id: string }).Id;
  try {
    return await fn(id);
  } finally {
    await e.call("DELETE", `/containers/${id}?force=true`);
  }
}

async function writeConfig(e: Engine, _w: Workload, host: BenchHost, helper: string): Promise<void> {
  const pack = tar.pack();
  const content = Buffer.from(host.config);
  pack.entry({ name: `mnt/host${host.configFile}`, mode: 0o600, size: content.length }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  await e.call("PUT", `/containers/${helper}/archive?path=/`, undefined, Buffer.concat(chunks));
}

async function readConfig(e: Engine, host: BenchHost, helper: string): Promise<string> {
  const { body } = await e.call(
    "GET",
    `/containers/${helper}/archive?path=${encodeURIComponent(`/mnt/host${host.configFile}`)}`,
  );
  const extract = tar.extract();
  let text = "";
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      text = Buffer.concat(chunks).toString();
    }
  })();
  extract.end(body);
  await done;
  return text;
}

async function onHost(scenario: string, w: Workload, host: BenchHost, recorded: HostState): Promise<void> {
  const e = await Engine.connect(host, w);
  const ids = recorded.containers;
  try {
    const containers = containersOf(w, host);
    switch (scenario) {
      case "converge":
        await withHelper(e, w, host, (helper) => writeConfig(e, w, host, helper));
        recorded.config = host.config;
        for (const c of containers) ids[c.name] = { id: await createStart(e, w, c), env: c.env };
        break;
      case "noop": {
        for (const c of containers) {
          const { body } = await e.call("GET", `/containers/${ids[c.name]?.id}/json`);
          const info = JSON.parse(body.toString()) as { State: { Running: boolean }; Config: { Env: string[] } };
          if (!info.State.Running || !info.Config.Env.includes(`BENCH_VALUE=${c.env}`)) {
            throw new Error(`${c.name} drifted`);
          }
        }
        const text = await withHelper(e, w, host, (helper) => readConfig(e, host, helper));
        if (text !== host.config) throw new Error(`${host.configFile} drifted`);
        break;
      }
      case "env":
        for (const c of containers) {
          const was = ids[c.name];
          if (was === undefined || was.env === c.env) continue;
          await e.call("DELETE", `/containers/${was.id}?force=true`);
          ids[c.name] = { id: await createStart(e, w, c), env: c.env };
        }
        break;
      case "file":
        if (recorded.config === host.config) break;
        await withHelper(e, w, host, (helper) => writeConfig(e, w, host, helper));
        recorded.config = host.config;
        for (const c of containers) await e.call("POST", `/containers/${ids[c.name]?.id}/restart?t=10`);
        break;
      case "remove":
        for (const [name, { id }] of Object.entries(ids)) {
          await e.call("DELETE", `/containers/${id}?force=true`);
          delete ids[name];
        }
        delete recorded.config;
        break;
      default:
        throw new Error(`unknown scenario "${scenario}"`);
    }
  } finally {
    e.close();
  }
}

async function main(): Promise<void> {
  const [scenario, workloadFile, stateFile] = process.argv.slice(2);
  if (scenario === undefined || workloadFile === undefined || stateFile === undefined) {
    throw new Error("usage: floor SCENARIO WORKLOAD.json STATE.json");
  }
  const w = JSON.parse(readFileSync(workloadFile, "utf8")) as Workload;
  let state: State = {};
  try {
    state = JSON.parse(readFileSync(stateFile, "utf8")) as State;
  } catch {
    // no state yet: first converge
  }
  await Promise.all(w.hosts.map((h) => onHost(scenario, w, h, state[h.name] ??= { containers: {} })));
  writeFileSync(stateFile, JSON.stringify(state));
}

await main();

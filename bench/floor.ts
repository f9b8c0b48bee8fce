/**
 * The floor: the bench workload done with raw Engine API calls over one
 * ssh2 connection per host (a `direct-streamlocal` channel per HTTP
 * connection, kept alive), hosts in parallel, 4 containers of a host at a
 * time (as berth does). The config file goes through one `exec` channel on
 * the same connection (`cat` into a temp file, then `mv`), no helper
 * container. No planning: each scenario does exactly the work it needs,
 * found by comparing the workload with what the floor recorded in its own
 * state file; only the no-op check asks the hosts, with one list request
 * (each container carries a hash of its spec as a label) and one `cat`.
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
import { type BenchContainer, type BenchHost, containersOf, floorSpec, type Workload } from "./workload.ts";

/** What the floor recorded per host: the config it wrote, and each container's id and env value. */
interface HostState {
  config?: string;
  containers: Record<string, { id: string; env: string }>;
}
type State = Record<string, HostState>;

const SOCKET = "/var/run/docker.sock";
/** Containers of one host worked on at once (berth's default per host). */
const PER_HOST = 4;
const HASH_LABEL = "bench.floor-hash";

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

  /** Runs `command` on the host with `input` on its stdin; resolves to its stdout. */
  exec(command: string, input = ""): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#client.exec(command, (err, stream) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        const errs: Buffer[] = [];
        stream.on("data", (c: Buffer) => out.push(c));
        stream.stderr.on("data", (c: Buffer) => errs.push(c));
        stream.on("close", (code: number | null) => {
          if (code === 0) resolve(Buffer.concat(out).toString());
          else reject(new Error(`${command}: exit ${code} ${Buffer.concat(errs).toString()}`));
        });
        stream.end(input);
      });
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

const q = (s: string): string => `'${s.replaceAll("'", `'"'"'`)}'`;

/** What the no-op compares: a hash of everything the floor asked the engine for. */
const specHash = (w: Workload, c: BenchContainer): string => floorSpec(w, c).hash;

function createBody(w: Workload, c: BenchContainer): unknown {
  const { spec, hash } = floorSpec(w, c);
  return { ...spec, Labels: { [HASH_LABEL]: hash } };
}

async function createStart(e: Engine, w: Workload, c: BenchContainer): Promise<string> {
  const { body } = await e.call("POST", `/containers/create?name=${c.name}`, createBody(w, c));
  const id = (JSON.parse(body.toString()) as { Id: string }).Id;
  await e.call("POST", `/containers/${id}/start`);
  return id;
}

/** Runs `fn` over `items`, at most {@link PER_HOST} at a time. */
async function perHost<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(PER_HOST, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/** Writes the config file as berth does: a temp file beside it, mode 0600, renamed over it. */
function writeConfig(e: Engine, host: BenchHost): Promise<string> {
  const dir = q(host.configDir);
  return e.exec(
    `mkdir -p ${dir} && t=$(mktemp -p ${dir}) && cat > "$t" && chmod 600 "$t" && mv "$t" ${q(host.configFile)}`,
    host.config,
  );
}

async function onHost(scenario: string, w: Workload, host: BenchHost, recorded: HostState): Promise<void> {
  const e = await Engine.connect(host, w);
  const ids = recorded.containers;
  try {
    const containers = containersOf(w, host);
    switch (scenario) {
      case "converge":
        await writeConfig(e, host);
        recorded.config = host.config;
        await perHost(containers, async (c) => {
          ids[c.name] = { id: await createStart(e, w, c), env: c.env };
        });
        break;
      case "noop": {
        const filters = encodeURIComponent(JSON.stringify({ label: [HASH_LABEL] }));
        const [listed, text] = await Promise.all([
          e.call("GET", `/containers/json?all=1&filters=${filters}`),
          e.exec(`cat ${q(host.configFile)}`),
        ]);
        const list = JSON.parse(listed.body.toString()) as Array<
          { Id: string; State: string; Labels: Record<string, string> }
        >;
        const byId = new Map(list.map((c) => [c.Id, c]));
        for (const c of containers) {
          const got = byId.get(ids[c.name]?.id ?? "");
          if (got?.State !== "running" || got.Labels[HASH_LABEL] !== specHash(w, c)) {
            throw new Error(`${c.name} drifted`);
          }
        }
        if (text !== host.config) throw new Error(`${host.configFile} drifted`);
        break;
      }
      case "env":
        await perHost(containers, async (c) => {
          const was = ids[c.name];
          if (was === undefined || was.env === c.env) return;
          await e.call("DELETE", `/containers/${was.id}?force=true`);
          ids[c.name] = { id: await createStart(e, w, c), env: c.env };
        });
        break;
      case "file":
        if (recorded.config === host.config) break;
        await writeConfig(e, host);
        recorded.config = host.config;
        await perHost(containers, async (c) => {
          await e.call("POST", `/containers/${ids[c.name]?.id}/restart?t=10`);
        });
        break;
      case "remove":
        await perHost(Object.entries(ids), async ([name, { id }]) => {
          await e.call("DELETE", `/containers/${id}?force=true`);
          delete ids[name];
        });
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

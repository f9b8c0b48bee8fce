/**
 * The real test environment brought up by `tests/env/up.sh`: what it wrote to
 * `env.json`, fault injection on its hosts, and a raw engine client for tests
 * to check side effects independently of berth's own Docker plugin.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { fileURLToPath } from "node:url";

/** One test host: a network namespace with its own dockerd and sshd. */
export interface TestHost {
  name: string;
  address: string;
  port: number;
  netns: string;
  /** The host's own directory (engine roots, its `/run` and `/root`). */
  dir: string;
  /** What this host sees at {@link TestEnv.view}: read a file berth wrote there through {@link hostPath}. */
  view: string;
  /** The host's engine socket, reachable from the test process directly. */
  dockerSocket: string;
  /** Reachable only through the bastion (`ssh -J`), not from here. */
  viaBastion: boolean;
}

/** Everything `tests/env/up.sh` recorded in `env.json`. */
export interface TestEnv {
  dir: string;
  /**
   * Where tests put the files berth writes on a host: each test host sees its
   * own directory ({@link TestHost.view}) at this path, the test machine and
   * the local engine see this directory itself.
   */
  view: string;
  /** A busybox image present on every engine. */
  image: string;
  local: { socket: string };
  registry: {
    address: string;
    image: string;
    authAddress: string;
    authImage: string;
    username: string;
    password: string;
  };
  ssh: {
    user: string;
    privateKeyPath: string;
    passphraseKeyPath: string;
    passphrase: string;
    wrongKeyPath: string;
    knownHostsFile: string;
    passwordUser: string;
    password: string;
    passwordHost: string;
  };
  bastion: { name: string; address: string; innerAddress: string; port: number };
  hosts: TestHost[];
}

/** Fault injections `tests/env/host.sh` knows. */
export type HostAction =
  | "sshd-stop"
  | "sshd-kill"
  | "sshd-start"
  | "engine-stop"
  | "engine-start"
  | "link-down"
  | "link-up";

const envDir = (): string => process.env["BERTH_TEST_DIR"] ?? "/tmp/berth-test";

/**
 * Reads `${BERTH_TEST_DIR:-/tmp/berth-test}/env.json`.
 *
 * @throws {Error} when the environment is not up.
 */
export function loadTestEnv(): TestEnv {
  const file = `${envDir()}/env.json`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new Error(`test environment is not up: run \`bash tests/env/up.sh\` (no ${file})`, { cause });
  }
  return JSON.parse(text) as TestEnv;
}

/** Returns the named host of the environment, or throws. */
export function testHost(env: TestEnv, name: string): TestHost {
  const host = env.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`no test host "${name}" in ${env.dir}/env.json`);
  return host;
}

/**
 * Where `path` (under {@link TestEnv.view}, as berth names it on `host`) is on
 * the test machine: inside that host's own view, so a file berth wrote
 * through another host is not found there. `local` is the test machine.
 *
 * @throws {Error} when `path` is not under the view.
 */
export function hostPath(env: TestEnv, host: TestHost | "local", path: string): string {
  if (path !== env.view && !path.startsWith(`${env.view}/`)) {
    throw new Error(`${path} is not under ${env.view}: only files there are per host (tests/env/lib.sh VIEW)`);
  }
  return host === "local" ? path : host.view + path.slice(env.view.length);
}

/**
 * Runs `tests/env/host.sh ACTION HOST`; resolves once the action took effect.
 *
 * @example
 * ```ts
 * await hostAction("sshd-stop", "h2");
 * ```
 */
export function hostAction(action: HostAction, hostName: string): Promise<void> {
  const script = fileURLToPath(new URL("../env/host.sh", import.meta.url));
  return new Promise((resolve, reject) => {
    execFile("bash", [script, action, hostName], { timeout: 90_000 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`host.sh ${action} ${hostName} failed: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/** What {@link dockerLocal} sends. */
export interface DockerLocalInit {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Engine socket; the local engine's by default. */
  socket?: string;
  headers?: Record<string, string>;
}

/** An engine's answer: status and body (parsed when it is one JSON document, else text). */
export interface DockerLocalResponse {
  status: number;
  body: unknown;
}

/**
 * Asks an engine directly over its unix socket, e.g. to list containers by
 * label or remove one by hand, independently of berth's Docker plugin.
 *
 * @example
 * ```ts
 * const { body } = await dockerLocal(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ["x=y"] }))}`);
 * ```
 */
export function dockerLocal(path: string, init: DockerLocalInit = {}): Promise<DockerLocalResponse> {
  const socketPath = init.socket ?? loadTestEnv().local.socket;
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = { ...init.headers };
  if (payload !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: init.method ?? "GET", headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: parseJson(text) });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`engine at ${socketPath} did not answer ${path} within 60 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * Force-removes the local engine's containers that a Docker list filter
 * selects (`{ name: [prefix] }`, `{ label: ["k=v"] }`): a test's clean-up.
 */
export async function removeLocalContainers(filters: Record<string, string[]>): Promise<void> {
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(filters))}`);
  for (const c of body as Array<{ Id: string }>) await dockerLocal(`/containers/${c.Id}?force=1`, { method: "DELETE" });
}

// Streaming endpoints (pull progress) send many JSON documents: kept as text.
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

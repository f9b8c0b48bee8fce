/**
 * Files through the transport on the real SSH fleet: the engine scenarios
 * with Docker over SSH (files over SFTP), owner and mode, the fallback
 * helper for a non-root SSH user, plans and status that change nothing on
 * a host (engine events), and the engine requests of a no-op check, counted
 * by a recording proxy in front of a host's real engine.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv, testHost } from "../support/env.ts";
import { runCli } from "../support/cli.ts";
import { dockerView } from "../support/engine-view.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainersState, Host, HostConfiguredContainer, RuntimeConfig } from "../../core/model.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { engineScenarios } from "./engine-scenarios.ts";

const env = loadTestEnv();
const h1 = testHost(env, "h1");
const h2 = testHost(env, "h2");
const QUICK = { init: true, networkMode: "none", args: ["sleep", "100000"] };

const rootOn = (host: typeof h2): Host => ({
  sshConfig: {
    address: host.address,
    port: host.port,
    user: env.ssh.user,
    privateKeyPath: env.ssh.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
  },
});

// Independent views of h1's and h2's engines, straight to their sockets.
const rawH1 = dockerRuntime({ host: `unix://${h1.dockerSocket}` }, { transport: directTransport(), hostLabel: "h1" });
const rawH2 = dockerRuntime({ host: `unix://${h2.dockerSocket}` }, { transport: directTransport(), hostLabel: "h2" });

engineScenarios({
  title: "Docker over SSH (h2), files over SFTP",
  prefix: `bt-sftp-${process.pid}`,
  image: env.image,
  runtime: { docker: {} },
  host: rootOn(h2),
  raw: rawH2,
  view: dockerView(h2.dockerSocket),
  base: { networkMode: "none" },
});

/**
 * A unix socket in a test host's `/run` that forwards to its engine and
 * records what berth sends, so requests can be counted on the real engine.
 */
class RecordingProxy {
  readonly path: string;
  #server: Server | undefined;
  #texts: Array<{ value: string }> = [];

  constructor(readonly host: typeof h2, name: string) {
    this.path = join(host.dir, "run", name);
  }

  /** The path as the host sees it (its `/run` is the host directory's `run/`). */
  get hostPath(): string {
    return `/run/${this.path.slice(join(this.host.dir, "run").length + 1)}`;
  }

  async start(): Promise<void> {
    rmSync(this.path, { force: true });
    this.#server = createServer((client) => {
      const text = { value: "" };
      this.#texts.push(text);
      const engine = createConnection({ path: this.host.dockerSocket });
      client.on("data", (chunk: Buffer) => (text.value += chunk.toString("latin1")));
      client.pipe(engine).pipe(client);
      client.on("error", () => engine.destroy());
      engine.on("error", () => client.destroy());
      client.on("close", () => engine.destroy());
    });
    await new Promise<void>((resolve) => this.#server?.listen(this.path, resolve));
    chmodSync(this.path, 0o666); // the non-root SSH user reaches it too
  }

  /** Forgets what was recorded so far. */
  clear(): void {
    this.#texts = [];
  }

  /** `METHOD /path` of every request since the last clear. */
  requests(): string[] {
    return this.#texts.flatMap((t) =>
      [...t.value.matchAll(/^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.[01]\r$/gm)].map((m) =>
        `${m[1]} ${(m[2] as string).replace(/^\/v[\d.]+/, "").replace(/\?.*/, "")}`
      )
    );
  }

  /** Everything sent since the last clear (bodies included). */
  sent(): string {
    return this.#texts.map((t) => t.value).join("\n");
  }

  async close(): Promise<void> {
    await new Promise<void>((
      resolve,
    ) => (this.#server === undefined ? resolve() : this.#server.close(() => resolve())));
    rmSync(this.path, { force: true });
  }
}

/** Engine events on a host's engine between two times (seconds), as `type action` lines. */
async function eventsBetween(socket: string, since: number, until: number): Promise<string[]> {
  const { status, body } = await dockerLocal(`/events?since=${since}&until=${until}`, { socket });
  expect(status).toBe(200);
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const e = JSON.parse(l) as { Type: string; Action: string };
    return `${e.Type} ${e.Action}`;
  });
}

async function removeNamed(raw: typeof rawH2, prefix: string): Promise<void> {
  for (const c of await raw.list({ "berth.managed": "true" })) {
    if (c.name.startsWith(prefix)) await raw.remove(c.id, { force: true });
  }
}

async function converge(state: ContainersState, desired: ContainersState) {
  const resource = new ContainersResource({ previousState: state, desiredState: desired });
  try {
    await resource.checkCurrentState();
    const plan = resource.plan();
    const result = await resource.apply();
    return { plan, result };
  } finally {
    await resource.close();
  }
}

async function planOf(state: ContainersState, desired: ContainersState) {
  const resource = new ContainersResource({ previousState: state, desiredState: desired });
  try {
    await resource.checkCurrentState();
    return resource.plan();
  } finally {
    await resource.close();
  }
}

describe("files over SFTP", () => {
  const prefix = `bt-own-${process.pid}`;
  const dir = mkdtempSync("/tmp/berth-sftp-own-");
  afterAll(async () => {
    await removeNamed(rawH2, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "a config file gets the container's numeric user and group and mode 0600, without a helper container",
    async () => {
      const proxy = new RecordingProxy(h2, `bt-own-${process.pid}.sock`);
      await proxy.start();
      try {
        const conf = join(dir, "etc", "app.conf");
        const desired: ContainersState = {
          app: {
            container: {
              config: { name: `${prefix}-app`, image: env.image, ...QUICK, user: "4321", group: "4322" },
              runtime: { docker: { host: `unix://${proxy.hostPath}` } },
            },
            host: rootOn(h2),
            configFiles: { [conf]: "owned\n" },
          },
        };
        const { result } = await converge({}, desired);
        expect(result.results.filter((r) => !r.ok).map((r) => r.error?.message)).toEqual([]);
        const info = statSync(conf);
        expect({ mode: info.mode & 0o777, uid: info.uid, gid: info.gid }).toEqual({
          mode: 0o600,
          uid: 4321,
          gid: 4322,
        });
        expect(readFileSync(conf, "utf8")).toBe("owned\n");
        // One create: the container's own; the file went over SFTP.
        expect(proxy.requests().filter((r) => r === "POST /containers/create")).toHaveLength(1);
        expect(proxy.sent()).not.toContain("berth.helper");
      } finally {
        await proxy.close();
      }
    },
    90_000,
  );
});

describe("a non-root SSH user (docker group) falls back to a helper container", () => {
  const prefix = `bt-nonroot-${process.pid}`;
  const dir = mkdtempSync("/tmp/berth-nonroot-");
  const secret = join(dir, "secret");
  const conf = join(secret, "app.conf");
  const data = join(secret, "data");
  const proxy = new RecordingProxy(h1, `bt-nonroot-${process.pid}.sock`);
  let state: ContainersState = {};
  const desired = (): ContainersState => ({
    app: {
      container: {
        config: {
          name: `${prefix}-app`,
          image: env.image,
          ...QUICK,
          mounts: [{ source: `${data}/`, target: "/data" }],
        },
        runtime: { docker: { host: `unix://${proxy.hostPath}` } } satisfies RuntimeConfig,
      },
      host: {
        sshConfig: {
          address: h1.address,
          port: h1.port,
          user: env.ssh.passwordUser,
          password: env.ssh.password,
          knownHostsFile: env.ssh.knownHostsFile,
        },
      },
      configFiles: { [conf]: "for root only\n" },
    } satisfies HostConfiguredContainer,
  });
  beforeAll(async () => {
    chmodSync(dir, 0o755);
    mkdirSync(secret, { mode: 0o700 }); // root's: the SSH user may not even look inside
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.close();
    await removeNamed(rawH1, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test("apply writes the file through a helper that mounts only /tmp, never /", async () => {
    const { result } = await converge(state, desired());
    state = result.state;
    expect(result.results.filter((r) => !r.ok).map((r) => r.error?.message)).toEqual([]);
    expect(readFileSync(conf, "utf8")).toBe("for root only\n");
    expect(statSync(conf).mode & 0o777).toBe(0o600);
    expect(statSync(data).isDirectory()).toBe(true);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const creates = [...proxy.sent().matchAll(/"Mounts":(\[[^\]]*\])/g)].map((m) =>
      JSON.parse(m[1] as string) as Array<{ Source: string; ReadOnly?: boolean }>
    );
    expect(proxy.sent()).toContain("berth.helper");
    expect(creates.length).toBeGreaterThanOrEqual(1);
    // The helpers' mounts (the container's own mounts its data directory).
    for (const mounts of creates.filter((m) => m.every((x) => x.Source !== data))) {
      expect(mounts.map((m) => m.Source)).toEqual(["/tmp"]);
    }
    expect(await rawH1.list({ "berth.helper": "true" })).toEqual([]);
  }, 90_000);

  test(
    "plan says the file is unknown until apply, creates nothing; apply then leaves a matching file and container alone",
    async () => {
      const id = state.app?.container.status?.id as string;
      proxy.clear();
      const plan = await planOf(state, desired());
      const change = plan.changes.find((c) => c.name === "app");
      expect(change?.action).toBe("update-files");
      expect(change?.reasons.join(" ")).toContain(`config file ${conf}: unknown until apply`);
      expect(change?.reasons.join(" ")).toContain(`mount directory ${data}/: unknown until apply`);
      expect(proxy.requests().filter((r) => !r.startsWith("GET "))).toEqual([]);

      const startedAt = async () =>
        ((await dockerLocal(`/containers/${id}/json`, { socket: h1.dockerSocket })).body as {
          State: { StartedAt: string };
        }).State.StartedAt;
      const before = await startedAt();
      const { result } = await converge(state, desired());
      state = result.state;
      expect(result.failed).toBe(0);
      expect(state.app?.container.status?.id).toBe(id);
      expect(await startedAt()).toBe(before); // not restarted: the file matched
      // The helper that only read mounted read-only.
      const mounts = [...proxy.sent().matchAll(/"Mounts":(\[[^\]]*\])/g)].map((m) =>
        JSON.parse(m[1] as string) as Array<{ Source: string; ReadOnly?: boolean }>
      );
      expect(new Set(mounts.flat().map((m) => JSON.stringify(m)))).toEqual(
        new Set([JSON.stringify({ Type: "bind", Source: "/tmp", Target: "/mnt/host/tmp", ReadOnly: true })]),
      );
    },
    90_000,
  );
});

describe("an engine reached over TCP has no file channel: a helper container does the files", () => {
  const prefix = `bt-tcp-${process.pid}`;
  const dir = mkdtempSync("/tmp/berth-tcp-");
  const conf = join(dir, "etc", "app.conf");
  const raw = dockerRuntime({ host: `unix://${env.local.socket}` }, {
    transport: directTransport(),
    hostLabel: "local",
  });
  // A plain TCP port in front of the local engine, recording the create bodies.
  let sent = "";
  const server = createServer((client) => {
    const engine = createConnection({ path: env.local.socket });
    client.on("data", (chunk: Buffer) => (sent += chunk.toString("latin1")));
    client.pipe(engine).pipe(client);
    client.on("error", () => engine.destroy());
    engine.on("error", () => client.destroy());
    client.on("close", () => engine.destroy());
  });
  let state: ContainersState = {};
  const desired = (): ContainersState => {
    const address = server.address() as { port: number };
    return {
      app: {
        container: {
          config: { name: `${prefix}-app`, image: env.image, ...QUICK },
          runtime: { docker: { host: `tcp://127.0.0.1:${address.port}` } },
        },
        host: { directConfig: {} },
        configFiles: { [conf]: "over tcp\n" },
      },
    };
  };
  beforeAll(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)));
  afterAll(async () => {
    await removeNamed(raw, prefix);
    await raw.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "apply writes through a helper mounting /tmp only; the next plan says unknown until apply and changes nothing; apply then leaves file and container alone",
    async () => {
      const first = await converge(state, desired());
      state = first.result.state;
      expect(first.result.failed).toBe(0);
      expect(readFileSync(conf, "utf8")).toBe("over tcp\n");
      const mounts = () =>
        [...sent.matchAll(/"Mounts":(\[[^\]]*\])/g)].flatMap((m) =>
          JSON.parse(m[1] as string) as Array<{ Source: string }>
        );
      expect(mounts().length).toBeGreaterThanOrEqual(1);
      expect(new Set(mounts().map((m) => m.Source))).toEqual(new Set(["/tmp"]));

      sent = "";
      const plan = await planOf(state, desired());
      expect(plan.changes[0]?.reasons.join(" ")).toContain(`config file ${conf}: unknown until apply`);
      expect(sent).not.toMatch(/^(POST|PUT|DELETE) /m);

      const id = state.app?.container.status?.id;
      const second = await converge(state, desired());
      expect(second.result.failed).toBe(0);
      expect(second.result.state.app?.container.status?.id).toBe(id);
      expect(sent).not.toMatch(/^POST \S*\/(stop|restart)/m);
      expect(mounts().every((m) => m.Source !== "/")).toBe(true);
      expect(await raw.list({ "berth.helper": "true" })).toEqual([]);
    },
    90_000,
  );
});

describe("helper containers left by a killed run", () => {
  test("are removed by the next run that reaches the host, even a plan; one still in use stays", async () => {
    const dead = spawnSync("true").pid; // a process of this machine that is gone
    const labels = (pid: number) => ({
      "berth.managed": "true",
      "berth.helper": "true",
      "berth.helper-owner": `${hostname()}:${pid}`,
    });
    const config = (name: string) => ({ name, image: env.image, ...QUICK });
    const left = await rawH2.create(config(`berth-files-dead${process.pid}`), { labels: labels(dead) });
    const inUse = await rawH2.create(config(`berth-files-live${process.pid}`), { labels: labels(process.pid) });
    try {
      const plan = await planOf({}, {
        app: { container: { config: config(`bt-left-${process.pid}`) }, host: rootOn(h2) },
      });
      expect(plan.summary).toEqual({ create: 1 });
      expect(await rawH2.status(left)).toBeUndefined();
      expect(await rawH2.status(inUse)).toBeDefined();
    } finally {
      for (const id of [left, inUse]) await rawH2.remove(id, { force: true }).catch(() => {});
    }
  }, 60_000);
});

describe("plan and status change nothing on the hosts", () => {
  const prefix = `bt-ro-${process.pid}`;
  const dir = mkdtempSync("/tmp/berth-readonly-");
  const conf = (host: string) => join(dir, host, "app.conf");
  const hosts = `ssh:
  user: ${env.ssh.user}
  privateKeyPath: ${env.ssh.privateKeyPath}
  knownHostsFile: ${env.ssh.knownHostsFile}
hosts:
${[h1, h2].map((h) => `  ${h.name}: { ssh: { address: ${h.address}, port: ${h.port} } }\n`).join("")}`;
  const config = (extra: string) =>
    `${hosts}containers:\n` +
    ["h1", "h2"].map((h) =>
      `  ${h}-app: { host: ${h}, name: ${prefix}-${h}, image: "${env.image}", init: true, networkMode: none, ` +
      `args: [sleep, "100000"], configFiles: { "${conf(h)}": "v1\\n" }, mounts: [ { source: "${
        join(dir, h, "data")
      }/", target: /data } ] }\n`
    ).join("") + extra;
  afterAll(async () => {
    await removeNamed(rawH1, prefix);
    await removeNamed(rawH2, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "engine events during `berth plan` and `berth status` hold no create, pull, start, stop or destroy",
    async () => {
      writeFileSync(join(dir, "config.yaml"), config(""));
      const apply = await runCli(["apply", "--yes"], dir);
      expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: "" });
      // Drift, a removed directory, a new container whose image is not on the host, a changed one.
      writeFileSync(conf("h1"), "edited by hand\n");
      rmSync(join(dir, "h2", "data"), { recursive: true });
      writeFileSync(
        join(dir, "config.yaml"),
        config(
          `  h2-new: { host: h2, name: ${prefix}-new, image: "${env.registry.image}", init: true, networkMode: none }\n`,
        ).replace('"v1\\n" }, mounts', '"v2\\n" }, mounts'),
      );
      await new Promise((r) => setTimeout(r, 1100)); // events are stamped in seconds: none of the apply's from here
      const since = Math.floor(Date.now() / 1000);
      const plan = await runCli(["--concurrency", "1", "plan"], dir);
      const status = await runCli(["status"], dir);
      await new Promise((r) => setTimeout(r, 1100)); // events are stamped in seconds
      const until = Math.floor(Date.now() / 1000) + 1;
      expect(plan.code).toBe(2);
      expect(plan.stdout).toContain("h2-new create");
      expect(status.code).toBe(0);
      for (const host of [h1, h2]) {
        const events = await eventsBetween(host.dockerSocket, since, until);
        expect({ host: host.name, changes: events.filter((e) => /create|pull|start|stop|destroy|die|kill/.test(e)) })
          .toEqual({ host: host.name, changes: [] });
      }
      expect(readFileSync(conf("h1"), "utf8")).toBe("edited by hand\n");
      expect(() => statSync(join(dir, "h2", "data"))).toThrow();
    },
    120_000,
  );

  test("--concurrency takes a whole number of hosts, at least 1", async () => {
    const bad = await runCli(["--concurrency", "0", "validate"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--concurrency <hosts>' argument '0' is invalid. expected a whole number of hosts");
  });

  test("a host key policy warning that applies to every host is one line with the count", async () => {
    writeFileSync(
      join(dir, "config.yaml"),
      readFileSync(join(dir, "config.yaml"), "utf8").replace("ssh:\n", "ssh:\n  hostKeyPolicy: insecure\n"),
    );
    const status = await runCli(["status"], dir);
    expect(status.code).toBe(0);
    const warnings = status.stderr.split("\n").filter((l) => l.includes("hostKeyPolicy: insecure"));
    expect(warnings).toEqual([
      `warning: not verifying the host keys of 2 hosts (hostKeyPolicy: insecure): root@${h1.address}:22, root@${h2.address}:22`,
    ]);
  }, 60_000);
});

describe("a no-op check costs one engine listing per host, whatever the number of containers", () => {
  for (const k of [1, 50]) {
    test(`K=${k}: at most 2 engine requests on the host`, async () => {
      const prefix = `bt-count${k}-${process.pid}`;
      const dir = mkdtempSync(`/tmp/berth-count${k}-`);
      const proxy = new RecordingProxy(h2, `${prefix}.sock`);
      await proxy.start();
      try {
        const desired: ContainersState = Object.fromEntries(
          Array.from({ length: k }, (_, i) => [
            `c${i}`,
            {
              container: {
                config: { name: `${prefix}-${i}`, image: env.image, ...QUICK },
                runtime: { docker: { host: `unix://${proxy.hostPath}` } },
              },
              host: rootOn(h2),
              configFiles: { [join(dir, `c${i}.conf`)]: `n=${i}\n` },
            } satisfies HostConfiguredContainer,
          ]),
        );
        const { result } = await converge({}, desired);
        expect(result.failed).toBe(0);
        proxy.clear();
        const plan = await planOf(result.state, desired);
        expect(plan.empty).toBe(true);
        const requests = proxy.requests();
        console.log(`no-op check, K=${k} on h2: ${requests.length} engine request(s): ${requests.join(", ")}`);
        expect(requests.length).toBeLessThanOrEqual(2);
        expect(requests).toContain("GET /containers/json");
      } finally {
        await proxy.close();
        await removeNamed(rawH2, prefix);
        rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  }
});

// Registered last, so it runs after the suites' own cleanup.
afterAll(async () => {
  await rawH1.close();
  await rawH2.close();
});

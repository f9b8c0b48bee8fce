/**
 * Health gates on real engines of the test environment: a started container
 * that fails its gate fails its change with its last log lines (secrets
 * masked); one that passes is recorded running; a crash-looping container is
 * never "nothing". Docker locally (the engine runs the healthcheck), Docker
 * over SSH on h1 (a TCP port through the SSH connection), and containerd
 * through CRI (berth runs the healthcheck through exec). What the engine
 * says is checked through raw engine HTTP or `ctr`, not berth's plugins.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv, testHost } from "../support/env.ts";
import { containerdView } from "../support/engine-view.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ApplyEvent } from "../../engine/apply.ts";
import type { ContainerConfig, ContainersState, Host, RuntimeConfig } from "../../core/model.ts";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const env = loadTestEnv();
const h1 = testHost(env, "h1");
const local = { docker: { host: `unix://${env.local.socket}` } };
const prefix = `bt-gate-${process.pid}`;
const SECRET = "hunter2-gate-secret";
const DIRECT: Host = { directConfig: {} };
const H1: Host = {
  sshConfig: {
    address: h1.address,
    port: h1.port,
    user: env.ssh.user,
    privateKeyPath: env.ssh.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
  },
};
// The test image has no server: the host's static busybox (same file system) brings httpd.
const BUSYBOX = { source: "/bin/busybox", target: "/opt/busybox", readOnly: true };

interface Inspected {
  RestartCount: number;
  State: { Status: string; Health?: { Status: string } };
}

/** A Docker container as its engine reports it, through raw HTTP. */
async function inspect(name: string, socket = env.local.socket): Promise<Inspected> {
  const { status, body } = await dockerLocal(`/containers/${prefix}-${name}/json`, { socket });
  if (status !== 200) throw new Error(`inspecting ${name}: HTTP ${status}`);
  return body as Inspected;
}

function desired(
  name: string,
  config: Partial<ContainerConfig>,
  where: { host?: Host; runtime?: RuntimeConfig; secretEnv?: boolean } = {},
): ContainersState {
  const runtime = where.runtime ?? local;
  return {
    [name]: {
      container: {
        config: {
          name: `${prefix}-${name}`,
          image: env.image,
          networkMode: "none",
          ...(runtime.docker !== undefined && { init: true }),
          ...config,
        },
        runtime,
      },
      host: where.host ?? DIRECT,
      ...(where.secretEnv === true && { sensitive: { env: ["TOKEN"] } }),
    },
  };
}

async function converge(want: ContainersState, state: ContainersState = {}) {
  const resource = new ContainersResource({ previousState: state, desiredState: want });
  const events: ApplyEvent[] = [];
  try {
    await resource.checkCurrentState();
    const plan = resource.plan();
    const result = await resource.apply({ onEvent: (e) => events.push(e) });
    return { plan, result, events, error: result.results[0]?.error };
  } finally {
    await resource.close();
  }
}

async function removeDocker(socket: string): Promise<void> {
  const { body } = await dockerLocal("/containers/json?all=1", { socket });
  for (const c of body as Array<{ Id: string; Names: string[] }>) {
    if (c.Names[0]?.startsWith(`/${prefix}`)) {
      await dockerLocal(`/containers/${c.Id}?force=1`, { socket, method: "DELETE" });
    }
  }
}

const types = (events: ApplyEvent[]) => events.map((e) => e.type);

describe("health gates on Docker", () => {
  afterAll(() => removeDocker(env.local.socket));

  test("a container that exits at start fails its change with its last log lines, secrets masked", async () => {
    const want = desired("crash", {
      env: { TOKEN: SECRET },
      args: ["sh", "-c", 'echo "starting with $TOKEN"; echo "fatal: no config" >&2; exit 3'],
    }, { secretEnv: true });
    const { result, events, error } = await converge(want);
    expect(result.failed).toBe(1);
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain(`container "${prefix}-crash" on host local failed its gate (running 0.25s)`);
    expect(error?.message).toContain("fatal: no config");
    expect(error?.message).toContain("starting with ***");
    expect(error?.message).not.toContain(SECRET);
    expect(types(events)).toEqual(["begin", "gate-waiting", "gate-failed", "failed"]);
    // What the gate saw, as the engine tells it: exited, or restarted by its policy.
    const seen = await inspect("crash");
    expect(seen.State.Status !== "running" || seen.RestartCount > 0).toBe(true);
  });

  test("a container that stays up passes the default gate and is recorded running", async () => {
    const { result, events } = await converge(desired("steady", { args: ["sleep", "100000"] }));
    expect(result.failed).toBe(0);
    expect(types(events)).toEqual(["begin", "gate-waiting", "gate-passed", "done"]);
    expect(events[1]?.gate).toBe("running 0.25s");
    expect(result.state["steady"]?.container.status?.status).toBe("running");
    const seen = await inspect("steady");
    expect([seen.State.Status, seen.RestartCount]).toEqual(["running", 0]);
  });

  test("a healthy healthcheck passes the gate: the change waits for the engine's verdict", async () => {
    const want = desired("healthy", {
      args: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 100000"],
      healthcheck: { test: ["test", "-f", "/tmp/ready"], interval: "300ms", retries: 10 },
    });
    const { result, events, plan } = await converge(want);
    expect(plan.changes[0]?.gate).toBe("healthy within 60s");
    expect(result.failed).toBe(0);
    expect(events.map((e) => e.gate ?? e.type)).toEqual(["begin", "healthy within 60s", "healthy within 60s", "done"]);
    // Done only once the engine itself said healthy.
    expect((await inspect("healthy")).State.Health?.Status).toBe("healthy");
    expect(result.state["healthy"]?.container.status?.status).toBe("running");
  });

  test("a failing healthcheck fails the change with the check's output and the logs", async () => {
    const want = desired("unhealthy", {
      env: { TOKEN: SECRET },
      args: ["sh", "-c", 'echo "listening soon, token $TOKEN"; exec sleep 100000'],
      healthcheck: { test: 'echo "not ready: $TOKEN"; exit 1', interval: "200ms", retries: 2 },
    }, { secretEnv: true });
    const started = performance.now();
    const { error } = await converge(want);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain("failed its gate (healthy within 60s): its healthcheck reports unhealthy");
    expect(error?.message).toContain("(last check: not ready: ***)");
    expect(error?.message).toContain("listening soon, token ***");
    expect(error?.message).not.toContain(SECRET);
    expect((await inspect("unhealthy")).State.Health?.Status).toBe("unhealthy");
  });

  test("a crash-looping container is never nothing: the plan starts it again, and its gate fails with its logs", async () => {
    const want = desired("loop", { args: ["sh", "-c", "echo crashing; exit 1"], gate: { none: true } });
    const first = await converge(want);
    expect(first.result.failed).toBe(0);
    // The engine's own restarts, until it reports the loop.
    for (let i = 0; i < 50 && (await inspect("loop")).State.Status !== "restarting"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = desired("loop", { args: ["sh", "-c", "echo crashing; exit 1"] });
    const { plan, error } = await converge(again, first.result.state);
    expect(plan.changes[0]?.action).toBe("start");
    expect(plan.changes[0]?.reasons[0]).toContain("container is restarting (a crash loop");
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain("crashing");
  });
});

describe("a TCP gate over SSH (h1): the port as the host sees it", () => {
  afterAll(() => removeDocker(h1.dockerSocket));
  const port = 20_000 + (process.pid % 20_000);

  test("the change waits until the port accepts connections", async () => {
    const want = desired("tcp", {
      networkMode: "host",
      mounts: [BUSYBOX],
      args: ["sh", "-c", `sleep 1; exec /opt/busybox httpd -f -p 127.0.0.1:${port}`],
      gate: { tcp: port, timeout: "20s" },
    }, { host: H1, runtime: { docker: {} } });
    const started = performance.now();
    const { result, events } = await converge(want);
    expect(result.results[0]?.error?.message).toBeUndefined();
    expect(events[1]?.gate).toBe(`tcp ${port} within 20s`);
    // The server starts after a second: the gate waited for it.
    expect(performance.now() - started).toBeGreaterThan(1_000);
    expect((await inspect("tcp", h1.dockerSocket)).State.Status).toBe("running");
  });

  test("a port nobody listens on fails the gate when its timeout is up", async () => {
    const want = desired("notcp", {
      networkMode: "host",
      args: ["sleep", "100000"],
      gate: { tcp: port + 1, timeout: "1500ms" },
    }, { host: H1, runtime: { docker: {} } });
    const { error } = await converge(want);
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain(`port ${port + 1} accepted no connection within 2s`);
    expect(error?.message).toContain("It wrote no logs.");
  });
});

describe("health gates on containerd (CRI): berth runs the healthcheck through exec", () => {
  const cri = loadCriEnv();
  const runtime = { kubelet: { address: `unix://${cri.local.socket}` } };
  const view = containerdView(cri.local.socket);
  afterAll(async () => {
    const transport = directTransport();
    const raw = kubeletRuntime(runtime.kubelet, { transport, hostLabel: "local" });
    for (const c of await raw.list({ "berth.managed": "true" })) {
      if (c.name.startsWith(prefix)) await raw.remove(c.id, { force: true });
    }
    await raw.close();
    await transport.close();
  });

  test("a healthcheck that passes once the container is ready passes the gate", async () => {
    const want = desired("cri-healthy", {
      networkMode: "host",
      image: cri.image,
      args: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 100000"],
      healthcheck: { test: ["test", "-f", "/tmp/ready"], interval: "300ms", retries: 10 },
    }, { runtime });
    const started = performance.now();
    const { result, events } = await converge(want);
    expect(result.results[0]?.error?.message).toBeUndefined();
    expect(types(events)).toEqual(["begin", "gate-waiting", "gate-passed", "done"]);
    expect(performance.now() - started).toBeGreaterThan(1_000);
    expect((await view.inspect(`${prefix}-cri-healthy`))?.status).toBe("running");
  });

  test("a failing healthcheck fails the change after its retries, with the check's output", async () => {
    const want = desired("cri-unhealthy", {
      networkMode: "host",
      image: cri.image,
      args: ["sh", "-c", "echo cri says hello; exec sleep 100000"],
      healthcheck: { test: "echo still starting; exit 1", interval: "200ms", retries: 3 },
    }, { runtime });
    const { error } = await converge(want);
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain(
      "its healthcheck failed 3 times in a row (last check: exit code 1: still starting)",
    );
    expect(error?.message).toContain("cri says hello");
  });
});

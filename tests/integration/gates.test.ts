/**
 * Health gates on the local Docker engine of the test environment: a
 * started container that fails its gate fails its change with its last log
 * lines (secrets masked); one that passes is recorded running. Checked
 * through raw engine HTTP, not berth's plugin.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ApplyEvent } from "../../engine/apply.ts";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const socket = env.local.socket;

interface Inspected {
  RestartCount: number;
  State: { Status: string; ExitCode: number; Health?: { Status: string } };
}

/** The container as the engine reports it, through raw HTTP. */
async function inspect(name: string): Promise<Inspected> {
  const { status, body } = await dockerLocal(`/containers/${prefix}-${name}/json`, { socket });
  if (status !== 200) throw new Error(`inspecting ${name}: HTTP ${status}`);
  return body as Inspected;
}
const prefix = `bt-gate-${process.pid}`;
const SECRET = "hunter2-gate-secret";

function desired(name: string, config: Partial<ContainerConfig>, secretEnv = false): ContainersState {
  return {
    [name]: {
      container: {
        config: { name: `${prefix}-${name}`, image: env.image, init: true, networkMode: "none", ...config },
        runtime,
      },
      host: { directConfig: {} },
      ...(secretEnv && { sensitive: { env: ["TOKEN"] } }),
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
    return { plan, result, events };
  } finally {
    await resource.close();
  }
}

describe("health gates on Docker", () => {
  afterAll(async () => {
    const { body } = await dockerLocal("/containers/json?all=1", { socket });
    for (const c of body as Array<{ Id: string; Names: string[] }>) {
      if (c.Names[0]?.startsWith(`/${prefix}`)) {
        await dockerLocal(`/containers/${c.Id}?force=1`, { socket, method: "DELETE" });
      }
    }
  });

  test("a container that exits at start fails its change with its last log lines, secrets masked", async () => {
    const want = desired("crash", {
      env: { TOKEN: SECRET },
      args: ["sh", "-c", 'echo "starting with $TOKEN"; echo "fatal: no config" >&2; exit 3'],
    }, true);
    const { result, events } = await converge(want);
    expect(result.failed).toBe(1);
    const error = result.results[0]?.error;
    expect(error?.code).toBe("GATE");
    expect(error?.message).toContain(`container "${prefix}-crash" on host`);
    expect(error?.message).toContain("fatal: no config");
    expect(error?.message).toContain("starting with ***");
    expect(error?.message).not.toContain(SECRET);
    expect(events.map((e) => e.type)).toEqual(["begin", "gate-waiting", "gate-failed", "failed"]);
    // What the gate saw, as the engine tells it: exited, or restarted by its policy.
    const seen = await inspect("crash");
    expect(seen.State.Status !== "running" || seen.RestartCount > 0).toBe(true);
  });

  test("a container that stays up passes the default gate and is recorded running", async () => {
    const want = desired("steady", { args: ["sleep", "100000"] });
    const { result, events } = await converge(want);
    expect(result.failed).toBe(0);
    expect(events.map((e) => e.type)).toEqual(["begin", "gate-waiting", "gate-passed", "done"]);
    expect(events[1]?.gate).toBe("running 0.25s");
    expect(result.state["steady"]?.container.status?.status).toBe("running");
    const seen = await inspect("steady");
    expect([seen.State.Status, seen.RestartCount]).toEqual(["running", 0]);
  });
});

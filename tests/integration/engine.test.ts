/**
 * The check -> plan -> apply cycle through the library, on the real local
 * Docker engine of the test environment (direct transport): the shared
 * engine scenarios, plus what only Docker can do behind berth's back.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { engineScenarios } from "./engine-scenarios.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
// A second runtime on the engine, to act behind berth's back; checks go through raw HTTP (view).
const raw = dockerRuntime(runtime.docker, { transport: directTransport(), hostLabel: "local" });
const view = dockerView(env.local.socket);

engineScenarios({
  title: "the local Docker engine",
  prefix: `bt-engine-${process.pid}`,
  image: env.image,
  runtime,
  host: { directConfig: {} },
  raw,
  view,
  base: { networkMode: "none" },
});

describe("ContainersResource on Docker: renames behind berth's back", () => {
  const name = `bt-rename-${process.pid}`;
  const desired: ContainersState = {
    app: {
      container: {
        config: { name, image: env.image, init: true, networkMode: "none", args: ["sleep", "100000"] },
        runtime,
      },
      host: { directConfig: {} },
    } satisfies HostConfiguredContainer,
  };
  let state: ContainersState = {};
  const converge = async () => {
    const resource = new ContainersResource({ previousState: state, desiredState: desired });
    try {
      await resource.checkCurrentState();
      const plan = resource.plan();
      state = (await resource.apply()).state;
      return plan;
    } finally {
      await resource.close();
    }
  };
  afterAll(async () => {
    for (const c of await raw.list({ "berth.managed": "true" })) {
      if (c.name.startsWith(name)) await raw.remove(c.id, { force: true });
    }
  });

  test("a container renamed by hand is recreated under its name", async () => {
    await converge();
    const id = state.app?.container.status?.id as string;
    expect((await dockerLocal(`/containers/${id}/rename?name=${name}-renamed`, { method: "POST" })).status).toBe(204);
    const plan = await converge();
    const change = plan.changes.find((c) => c.name === "app");
    expect(change?.action).toBe("recreate");
    expect(change?.reasons.join(" ")).toContain(`renamed to "${name}-renamed" outside berth`);
    expect(await view.inspect(id)).toBeUndefined();
    expect((await view.inspect(name))?.status).toBe("running");
  }, 60_000);
});

// Registered last, so it runs after the suites' own cleanup.
afterAll(() => raw.close());

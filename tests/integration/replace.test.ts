/**
 * Recreates that keep the old container until the new one passed, on the
 * fleet's local Docker engine through the library: a new container that
 * cannot start gives the old one its name back, running; start-first runs
 * the new one before the old one stops, stop-first the other way round. What
 * happened is read from the engine itself (raw HTTP: inspect and its event
 * log), not from berth.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";
import type { PlanWithBasis } from "../../engine/containers.ts";
import type { ApplyResult } from "../../engine/apply.ts";
import { recoverState } from "../../engine/recover.ts";
import { asideName } from "../../core/aside-name.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const view = dockerView(env.local.socket);
const prefix = `bt-replace-${process.pid}`;

/** One container `name` on the local engine: quick to stop, no network unless `extra` says otherwise. */
function desired(name: string, extra: Partial<ContainerConfig>): ContainersState {
  return {
    app: {
      container: {
        config: { name, image: env.image, init: true, networkMode: "none", args: ["sleep", "100000"], ...extra },
        runtime,
      },
      host: { directConfig: {} },
    },
  };
}

/** Check, plan and apply `want` over `state`; returns the plan, the result and the state now. */
async function converge(
  state: ContainersState,
  want: ContainersState,
): Promise<{ plan: PlanWithBasis; result: ApplyResult; state: ContainersState }> {
  const resource = new ContainersResource({ previousState: state, desiredState: want });
  try {
    await resource.checkCurrentState();
    const plan = resource.plan();
    const result = await resource.apply();
    return { plan, result, state: result.state };
  } finally {
    await resource.close();
  }
}

/** Every container whose name starts with `name` (the one and any set aside), from the engine. */
async function generations(name: string) {
  return (await view.list()).filter((c) => c.name === name || c.name.startsWith(`${name}.`));
}

/** The engine's own log of start, die and destroy for containers labelled `berth.name=NAME`, oldest first. */
async function events(name: string, since: number): Promise<Array<{ id: string; action: string; at: number }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`berth.name=${name}`], type: ["container"] }));
  const until = Math.ceil(Date.now() / 1000) + 1;
  const { body } = await dockerLocal(`/events?since=${Math.floor(since / 1000) - 1}&until=${until}&filters=${filters}`);
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l) as { id: string; Action: string; timeNano: number }
  )
    .map((e) => ({ id: e.id, action: e.Action, at: e.timeNano }))
    .filter((e) => ["start", "die", "destroy", "rename"].includes(e.action))
    .sort((a, b) => a.at - b.at);
}

afterAll(async () => {
  for (const c of await view.list()) {
    if (c.name.startsWith(prefix)) await dockerLocal(`/containers/${c.id}?force=1`, { method: "DELETE" });
  }
});

describe("a recreate keeps the old container until the new one passed (local Docker engine)", () => {
  test(
    "a new container that cannot start: the old one is back under its name and running, the state says so",
    async () => {
      const name = `${prefix}-fail`;
      let { state } = await converge({}, desired(name, { env: { V: "1" } }));
      const oldId = state["app"]?.container.status?.id as string;
      // Without an init as PID 1 the engine itself fails the start: the program is missing.
      const broken = desired(name, { env: { V: "2" }, init: false, entrypoint: ["/no/such/program"] });
      const run = await converge(state, broken);
      state = run.state;
      expect(run.plan.changes[0]).toMatchObject({ action: "recreate", strategy: "start-first" });
      expect(run.result.failed).toBe(1);
      const message = run.result.results[0]?.error?.message ?? "";
      expect(message).toContain("the old container is back under its name and running");
      // The engine: only the old one, under its name, running; nothing set aside, no new one left.
      const seen = await generations(name);
      expect(seen.map((c) => ({ id: c.id, name: c.name, status: c.status }))).toEqual([
        { id: oldId, name, status: "running" },
      ]);
      expect(state["app"]?.container.status).toEqual({ id: oldId, status: "running" });
      expect(state["app"]?.container.config.env).toEqual({ V: "1" });
      // The next plan still wants the change: the old one was not taken for the new config.
      const again = await converge(state, desired(name, { env: { V: "3" } }));
      expect(again.plan.changes[0]?.action).toBe("recreate");
      expect(again.result.failed).toBe(0);
      expect((await generations(name)).map((c) => [c.name, c.status])).toEqual([[name, "running"]]);
    },
    60_000,
  );

  test(
    "an old container restarting in a loop (the engine cannot rename it so) is stopped first and replaced",
    async () => {
      const name = `${prefix}-loop`;
      const { state } = await converge({}, desired(name, { args: ["sh", "-c", "exit 1"], restartPolicy: "always" }));
      const oldId = state["app"]?.container.status?.id as string;
      // Restarting and running alternate: wait until the engine reports the loop once.
      let looping = false;
      for (let i = 0; i < 50 && !looping; i++) {
        looping = (await view.inspect(oldId))?.status === "restarting";
        if (!looping) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(looping).toBe(true);
      const run = await converge(state, desired(name, {}));
      expect(run.result.results.map((r) => r.error?.message)).toEqual([undefined]);
      const newId = run.state["app"]?.container.status?.id as string;
      expect((await generations(name)).map((c) => [c.id, c.status])).toEqual([[newId, "running"]]);
    },
    60_000,
  );

  test(
    "a new container that exits at once fails its gate: the old one is back and running, its output in the error",
    async () => {
      const name = `${prefix}-gate`;
      const { state } = await converge({}, desired(name, { env: { V: "1" } }));
      const oldId = state["app"]?.container.status?.id as string;
      const run = await converge(
        state,
        desired(name, { env: { V: "2" }, args: ["sh", "-c", "echo broken-v2; exit 3"] }),
      );
      expect(run.result.failed).toBe(1);
      const message = run.result.results[0]?.error?.message ?? "";
      expect(message).toContain("broken-v2");
      expect(message).toContain("the old container is back under its name and running");
      expect((await generations(name)).map((c) => ({ id: c.id, name: c.name, status: c.status }))).toEqual([
        { id: oldId, name, status: "running" },
      ]);
      expect(run.state["app"]?.container.status).toEqual({ id: oldId, status: "running" });
    },
    60_000,
  );

  test("start-first (no host port): the new one started before the old one stopped", async () => {
    const name = `${prefix}-start`;
    const { state } = await converge({}, desired(name, { env: { V: "1" } }));
    const oldId = state["app"]?.container.status?.id as string;
    const since = Date.now();
    const run = await converge(state, desired(name, { env: { V: "2" } }));
    expect(run.plan.changes[0]).toMatchObject({ action: "recreate", strategy: "start-first" });
    expect(run.result.failed).toBe(0);
    const newId = run.state["app"]?.container.status?.id as string;
    const log = await events(name, since);
    const at = (id: string, action: string) => log.find((e) => e.id === id && e.action === action)?.at;
    const started = at(newId, "start");
    const died = at(oldId, "die");
    expect({ started: started !== undefined, died: died !== undefined }).toEqual({ started: true, died: true });
    // Both existed, running, at once: the old one died only after the new one had started.
    expect((started as number) < (died as number)).toBe(true);
    expect((await generations(name)).map((c) => [c.id, c.status])).toEqual([[newId, "running"]]);
  }, 60_000);

  test("stop-first (declared): the old one stopped before the new one started", async () => {
    const name = `${prefix}-stop`;
    const { state } = await converge({}, desired(name, { env: { V: "1" }, recreateOrder: "stop-first" }));
    const oldId = state["app"]?.container.status?.id as string;
    const since = Date.now();
    const run = await converge(state, desired(name, { env: { V: "2" }, recreateOrder: "stop-first" }));
    expect(run.plan.changes[0]).toMatchObject({ action: "recreate", strategy: "stop-first" });
    expect(run.result.failed).toBe(0);
    const newId = run.state["app"]?.container.status?.id as string;
    const log = await events(name, since);
    const at = (id: string, action: string) => log.find((e) => e.id === id && e.action === action)?.at;
    expect((at(oldId, "die") as number) < (at(newId, "start") as number)).toBe(true);
    // The old one was renamed aside, not removed, until the new one ran.
    expect((at(oldId, "rename") as number) < (at(newId, "start") as number)).toBe(true);
    expect((at(newId, "start") as number) < (at(oldId, "destroy") as number)).toBe(true);
    expect((await generations(name)).map((c) => [c.id, c.status])).toEqual([[newId, "running"]]);
  }, 60_000);

  test(
    "recover: an old container set aside is not taken for its name's container; the next apply settles it",
    async () => {
      const name = `${prefix}-recover`;
      const want = desired(name, { env: { V: "1" } });
      const newId = (await converge({}, want)).state["app"]?.container.status?.id as string;
      // As a killed recreate leaves it: an old berth container of this name renamed aside (made here by hand).
      const made = await dockerLocal(`/containers/create?name=${name}-made`, {
        method: "POST",
        body: {
          Image: env.image,
          Cmd: ["sleep", "100000"],
          Labels: { "berth.managed": "true", "berth.name": name },
          HostConfig: { NetworkMode: "none", Init: true },
        },
      });
      const oldId = (made.body as { Id: string }).Id;
      const aside = asideName(name, oldId);
      expect((await dockerLocal(`/containers/${oldId}/rename?name=${aside}`, { method: "POST" })).status).toBe(204);
      const only = (n: string) => n === name || n.startsWith(`${name}.`);
      const claim = { claim: only };
      const both = await recoverState(want, claim);
      expect(both.state["app"]?.container.status?.id).toBe(newId);
      expect(both.found.filter((f) => only(f.name)).map((f) => [f.name, f.kind])).toEqual([[name, "desired"], [
        aside,
        "aside",
      ]]);
      // The new one gone too: the old one is recorded under its key, and the next apply gives it its name back.
      await dockerLocal(`/containers/${newId}?force=1`, { method: "DELETE" });
      const alone = await recoverState(want, claim);
      expect(alone.state["app"]?.container.status?.id).toBe(oldId);
      const run = await converge(alone.state, want);
      expect(run.plan.changes[0]?.action).toBe("restore");
      expect(run.result.failed).toBe(0);
      expect((await generations(name)).map((c) => [c.id, c.name, c.status])).toEqual([[oldId, name, "running"]]);
    },
    60_000,
  );
});

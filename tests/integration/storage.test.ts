/**
 * Storage on the real local Docker engine (issue 14): read-only bind mounts
 * and tmpfs mounts converge and behave as declared inside the container,
 * checked with the engine's own exec over raw HTTP on its socket (not
 * berth's client); a second plan is empty.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";
import type { Plan } from "../../engine/plan.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const name = `bt-storage-${process.pid}`;

/** Runs `cmd` in the container through the engine's exec API; its output (a TTY: one plain stream) and exit code. */
async function exec(container: string, cmd: string[]): Promise<{ output: string; code: number }> {
  const created = await dockerLocal(`/containers/${container}/exec`, {
    method: "POST",
    body: { Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true },
  });
  expect(created.status).toBe(201);
  const id = (created.body as { Id: string }).Id;
  const started = await dockerLocal(`/exec/${id}/start`, { method: "POST", body: { Detach: false, Tty: true } });
  expect(started.status).toBe(200);
  const done = await dockerLocal(`/exec/${id}/json`);
  return { output: String(started.body), code: (done.body as { ExitCode: number }).ExitCode };
}

describe("storage on Docker", () => {
  let state: ContainersState = {};
  const base: ContainerConfig = { name, image: env.image, init: true, networkMode: "none", args: ["sleep", "100000"] };
  const desired = (config: Partial<ContainerConfig>): ContainersState => ({
    app: { container: { config: { ...base, ...config }, runtime }, host: { directConfig: {} } },
  });
  const resourceFor = (want: ContainersState) => new ContainersResource({ previousState: state, desiredState: want });
  const converge = async (want: ContainersState): Promise<Plan> => {
    const resource = resourceFor(want);
    try {
      await resource.checkCurrentState();
      const plan = resource.plan();
      const result = await resource.apply();
      state = result.state;
      expect(result.results.filter((r) => !r.ok)).toEqual([]);
      return plan;
    } finally {
      await resource.close();
    }
  };
  const planOnly = async (want: ContainersState): Promise<Plan> => {
    const resource = resourceFor(want);
    try {
      await resource.checkCurrentState();
      return resource.plan();
    } finally {
      await resource.close();
    }
  };

  afterAll(async () => {
    await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE" });
  });

  test(
    "a read-only bind mount refuses writes; a tmpfs mount has its size and mode; a second plan is empty",
    async () => {
      const want = desired({
        mounts: [
          { source: "/etc", target: "/host-etc", readOnly: true },
          { type: "tmpfs", target: "/scratch", size: "16m", mode: "700" },
        ],
      });
      await converge(want);
      const write = await exec(name, ["touch", "/host-etc/berth-must-not-write"]);
      expect(write.code).not.toBe(0);
      expect(write.output).toContain("Read-only file system");
      const mounts = (await exec(name, ["cat", "/proc/mounts"])).output.split("\n");
      const scratch = mounts.find((line) => line.split(" ")[1] === "/scratch") ?? "";
      expect(scratch.split(" ")[2]).toBe("tmpfs");
      expect(scratch).toContain("size=16384k");
      expect(scratch).toContain("mode=700");
      expect((await exec(name, ["touch", "/scratch/ok"])).code).toBe(0);
      expect((await planOnly(want)).empty).toBe(true);
    },
    120_000,
  );

  test("making the bind mount writable recreates, shows readOnly in the diff, and then writes pass", async () => {
    const want = desired({
      mounts: [{ type: "tmpfs", target: "/scratch", size: "16m", mode: "700" }, {
        source: "/tmp",
        target: "/host-tmp",
      }],
    });
    await converge(desired({
      mounts: [{ type: "tmpfs", target: "/scratch", size: "16m", mode: "700" }, {
        source: "/tmp",
        target: "/host-tmp",
        readOnly: true,
      }],
    }));
    const plan = await converge(want);
    const change = plan.changes.find((c) => c.name === "app");
    expect(change?.action).toBe("recreate");
    expect(JSON.stringify(change?.diff)).toContain("readOnly");
    const file = `/host-tmp/berth-storage-${process.pid}`;
    expect((await exec(name, ["sh", "-c", `touch ${file} && rm ${file}`])).code).toBe(0);
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);
});

/**
 * Storage on the real local Docker engine (issue 14): read-only bind mounts
 * and tmpfs mounts converge and behave as declared inside the container;
 * a named volume is created when missing, keeps its data across a recreate,
 * stays when its container goes, and is removed (with a warning in the
 * plan) only when it leaves `volumes:`. Checked with the engine's own API
 * (exec, volumes) over raw HTTP on its socket, not berth's client.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv, testHost } from "../support/env.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";
import type { Plan } from "../../engine/plan.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const name = `bt-storage-${process.pid}`;
const volume = `bt-storage-vol-${process.pid}`;
const kept = `bt-storage-kept-${process.pid}`;

/** Runs `cmd` in the container through the engine's exec API; its output (a TTY: one plain stream) and exit code. */
async function exec(
  container: string,
  cmd: string[],
  socket = env.local.socket,
): Promise<{ output: string; code: number }> {
  const created = await dockerLocal(`/containers/${container}/exec`, {
    method: "POST",
    body: { Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true },
    socket,
  });
  expect(created.status).toBe(201);
  const id = (created.body as { Id: string }).Id;
  const started = await dockerLocal(`/exec/${id}/start`, {
    method: "POST",
    body: { Detach: false, Tty: true },
    socket,
  });
  expect(started.status).toBe(200);
  const done = await dockerLocal(`/exec/${id}/json`, { socket });
  return { output: String(started.body), code: (done.body as { ExitCode: number }).ExitCode };
}

describe("storage on Docker", () => {
  let state: ContainersState = {};
  const base: ContainerConfig = { name, image: env.image, init: true, networkMode: "none", args: ["sleep", "100000"] };
  const desired = (config: Partial<ContainerConfig>): ContainersState => ({
    app: { container: { config: { ...base, ...config }, runtime }, host: { directConfig: {} } },
  });
  const resourceFor = (want: ContainersState, volumes?: string[]) =>
    new ContainersResource({ previousState: state, desiredState: want }, volumes === undefined ? {} : { volumes });
  const converge = async (want: ContainersState, volumes?: string[]): Promise<Plan> => {
    const resource = resourceFor(want, volumes);
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
  const planOnly = async (want: ContainersState, volumes?: string[]): Promise<Plan> => {
    const resource = resourceFor(want, volumes);
    try {
      await resource.checkCurrentState();
      return resource.plan();
    } finally {
      await resource.close();
    }
  };

  afterAll(async () => {
    await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE" });
    await dockerLocal(`/containers/${name}-2?force=1`, { method: "DELETE" });
    for (const v of [volume, kept]) await dockerLocal(`/volumes/${v}?force=1`, { method: "DELETE" });
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

  const withVolume = (args: string[]) =>
    desired({
      args,
      mounts: [{ type: "volume", source: volume, target: "/data", driver: "local", driverOptions: {} }],
    });

  test("a named volume is created when missing and keeps its data across a recreate", async () => {
    expect((await dockerLocal(`/volumes/${volume}`)).status).toBe(404);
    await converge(withVolume(["sleep", "100000"]), [volume]);
    const created = await dockerLocal(`/volumes/${volume}`);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ Driver: "local", Labels: { "berth.managed": "true" } });
    expect((await exec(name, ["sh", "-c", "echo kept-across-recreate > /data/file"])).code).toBe(0);
    const before = (await dockerLocal(`/containers/${name}/json`)).body as { Id: string };
    const want = withVolume(["sleep", "200000"]);
    const plan = await converge(want, [volume]);
    expect(plan.changes.find((c) => c.name === "app")?.action).toBe("recreate");
    expect(((await dockerLocal(`/containers/${name}/json`)).body as { Id: string }).Id).not.toBe(before.Id);
    expect((await exec(name, ["cat", "/data/file"])).output.trim()).toBe("kept-across-recreate");
    expect((await planOnly(want, [volume])).empty).toBe(true);
  }, 120_000);

  test(
    "a volume stays when its container is removed; it is removed, with a warning, once it leaves volumes:",
    async () => {
      const other: ContainersState = {
        other: {
          container: {
            config: { ...base, name: `${name}-2`, mounts: [{ type: "volume", source: kept, target: "/k" }] },
            runtime,
          },
          host: { directConfig: {} },
        },
      };
      const both = { ...withVolume(["sleep", "200000"]), ...other };
      await converge(both, [volume, kept]);
      expect((await dockerLocal(`/volumes/${kept}`)).status).toBe(200);
      // The container goes, its volume is still declared: the volume stays.
      await converge(withVolume(["sleep", "200000"]), [volume, kept]);
      expect((await dockerLocal(`/containers/${name}-2/json`)).status).toBe(404);
      expect((await dockerLocal(`/volumes/${kept}`)).status).toBe(200);
      // The last container mounting `volume` goes and `volume` leaves volumes: the plan warns, apply removes it.
      const plan = await planOnly({}, [kept]);
      expect(plan.volumes?.map((v) => v.name)).toEqual([volume]);
      expect(plan.volumes?.[0]?.warning).toContain("deletes its data");
      await converge({}, [kept]);
      expect((await dockerLocal(`/volumes/${volume}`)).status).toBe(404);
      expect((await dockerLocal(`/volumes/${kept}`)).status).toBe(200);
      // Nothing is recorded any more, so nothing is left to plan (an empty document is refused as such).
      expect(state).toEqual({});
    },
    120_000,
  );
});

describe("named volumes through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-storage-cli-"));
  const container = `bt-storage-cli-${process.pid}`;
  const vol = `bt-storage-cli-vol-${process.pid}`;
  const config = (volumes: string, containers: string) =>
    writeFileSync(
      join(dir, "config.yaml"),
      `hosts: { local: { direct: {} } }\nruntime: { docker: { host: "unix://${env.local.socket}" } }\n${volumes}` +
        `containers:\n${containers}`,
    );
  const app = `  app: { name: ${container}, host: local, image: "${env.image}", init: true, networkMode: none,` +
    ` args: [sleep, "100000"], mounts: [ { type: volume, source: ${vol}, target: /data } ] }\n`;

  afterAll(async () => {
    await dockerLocal(`/containers/${container}?force=1`, { method: "DELETE" });
    await dockerLocal(`/volumes/${vol}?force=1`, { method: "DELETE" });
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "an undeclared name is refused with did-you-mean; a removed name is planned with a warning, then removed",
    async () => {
      config(`volumes: { ${vol}x: {} }\n`, app);
      const refused = await runCli(["validate"], dir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`did you mean \`${vol}x\`?`);
      config(`volumes: { ${vol}: { driver: local } }\n`, app);
      expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
      expect((await dockerLocal(`/volumes/${vol}`)).status).toBe(200);
      config("", "  {}\n");
      const plan = await runCli(["plan"], dir);
      expect(plan.code).toBe(2);
      expect(plan.stdout).toContain(`volume ${vol} remove on local`);
      expect(plan.stdout).toContain(`warning: volume "${vol}" is no longer under volumes:`);
      expect(plan.stdout).toContain("Plan: 1 remove, 1 volume remove.");
      const apply = await runCli(["apply", "--yes"], dir);
      expect(apply.code).toBe(0);
      expect((await dockerLocal(`/containers/${container}/json`)).status).toBe(404);
      expect((await dockerLocal(`/volumes/${vol}`)).status).toBe(404);
    },
    120_000,
  );
});

// On a test host's engine: its own network namespace, so the bridge and its subnet meet no one else's.
describe("networks on Docker", () => {
  const h1 = testHost(env, "h1");
  const socket = h1.dockerSocket;
  const network = `bt-net-${process.pid}`;
  const second = `bt-net-2-${process.pid}`;
  const names = { a: `bt-net-a-${process.pid}`, b: `bt-net-b-${process.pid}` };
  let recorded: ContainersState = {};
  const member = (name: string, alias: string, ipv4Address?: string, more: Array<{ name: string }> = []) => ({
    container: {
      config: {
        name,
        image: env.image,
        init: true,
        args: ["sleep", "100000"],
        networks: [{
          name: network,
          aliases: [alias],
          subnet: "198.18.213.0/24",
          ...(ipv4Address === undefined ? {} : { ipv4Address }),
        }, ...more],
      },
      runtime: { docker: { host: `unix://${socket}` } },
    },
    host: { directConfig: {} },
  });
  const want: ContainersState = {
    a: member(names.a, "alpha", "198.18.213.10"),
    b: member(names.b, "beta", undefined, [{ name: second }]),
  };
  const withResource = async <T>(fn: (r: ContainersResource) => Promise<T>): Promise<T> => {
    const resource = new ContainersResource({ previousState: recorded, desiredState: want });
    try {
      await resource.checkCurrentState();
      return await fn(resource);
    } finally {
      await resource.close();
    }
  };

  afterAll(async () => {
    for (const name of Object.values(names)) {
      await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE", socket });
    }
    for (const n of [network, second]) await dockerLocal(`/networks/${n}`, { method: "DELETE", socket });
  });

  test(
    "the network is created when missing; two containers reach each other by alias; a static address holds",
    async () => {
      expect((await dockerLocal(`/networks/${network}`, { socket })).status).toBe(404);
      await withResource(async (resource) => {
        const result = await resource.apply();
        expect(result.results.filter((r) => !r.ok)).toEqual([]);
        recorded = result.state;
      });
      const created = await dockerLocal(`/networks/${network}`, { socket });
      expect(created.status).toBe(200);
      const info = created.body as { Driver: string; Labels: Record<string, string>; IPAM: { Config: unknown[] } };
      expect([info.Driver, info.Labels["berth.managed"], info.IPAM.Config]).toEqual([
        "bridge",
        "true",
        [{ Subnet: "198.18.213.0/24" }],
      ]);
      const a = (await dockerLocal(`/containers/${names.a}/json`, { socket })).body as {
        NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> };
      };
      expect(a.NetworkSettings.Networks[network]?.IPAddress).toBe("198.18.213.10");
      // b joined its first network when created, the second one before it started.
      const b = (await dockerLocal(`/containers/${names.b}/json`, { socket })).body as typeof a;
      expect(Object.keys(b.NetworkSettings.Networks).sort()).toEqual([network, second].sort());
      const ping = (from: string, to: string) => exec(from, ["/bin/busybox", "ping", "-c", "1", "-W", "5", to], socket);
      const ab = await ping(names.a, "beta");
      expect({ code: ab.code, output: ab.output }).toMatchObject({ code: 0 });
      const ba = await ping(names.b, "alpha");
      expect(ba.code).toBe(0);
      expect(ba.output).toContain("198.18.213.10");
      expect((await withResource((resource) => Promise.resolve(resource.plan()))).empty).toBe(true);
    },
    120_000,
  );

  test(
    "a container disconnected from its network outside berth is planned back, then a second plan is empty",
    async () => {
      const disconnect = await dockerLocal(`/networks/${second}/disconnect`, {
        method: "POST",
        socket,
        body: { Container: names.b, Force: true },
      });
      expect(disconnect.status).toBe(200);
      const plan = await withResource((resource) => Promise.resolve(resource.plan()));
      const b = plan.changes.find((c) => c.name === "b");
      expect(b?.action).toBe("recreate");
      expect(b?.reasons).toEqual([`container was disconnected from network "${second}" outside berth`]);
      await withResource(async (resource) => {
        const result = await resource.apply();
        expect(result.results.filter((r) => !r.ok)).toEqual([]);
        recorded = result.state;
      });
      const info = (await dockerLocal(`/containers/${names.b}/json`, { socket })).body as {
        NetworkSettings: { Networks: Record<string, unknown> };
      };
      expect(Object.keys(info.NetworkSettings.Networks).sort()).toEqual([network, second].sort());
      expect((await withResource((resource) => Promise.resolve(resource.plan()))).empty).toBe(true);
    },
    120_000,
  );

  test(
    "a network that leaves networks: is planned for removal with a warning and removed after its containers",
    async () => {
      const { b: _gone, ...rest } = want;
      const resource = new ContainersResource({ previousState: recorded, desiredState: rest }, {
        networks: [network],
      });
      try {
        await resource.checkCurrentState();
        const plan = resource.plan();
        expect(plan.networks?.map((n) => n.name)).toEqual([second]);
        expect(plan.networks?.[0]?.warning).toContain(`network "${second}" is no longer under networks:`);
        const result = await resource.apply();
        expect(result.results.filter((r) => !r.ok)).toEqual([]);
        expect(result.results.map((r) => r.name).sort()).toEqual(["b", `network ${second}`]);
        recorded = result.state;
      } finally {
        await resource.close();
      }
      expect((await dockerLocal(`/networks/${second}`, { socket })).status).toBe(404);
      expect((await dockerLocal(`/networks/${network}`, { socket })).status).toBe(200);
    },
    120_000,
  );
});

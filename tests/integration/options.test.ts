/**
 * The container options of issue 14 on the real local Docker engine: a
 * config with every option converges, the engine's own inspect (raw HTTP on
 * its socket, not berth's client) shows each setting, a second plan is
 * empty, and each group changes with the right action: in place or recreate.
 */
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";
import type { Plan } from "../../engine/plan.ts";

const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const name = `bt-options-${process.pid}`;

interface Inspect {
  Id: string;
  State: { Status: string };
  Config: {
    StopSignal?: string;
    StopTimeout?: number;
    Labels: Record<string, string>;
    Hostname: string;
    Domainname: string;
  };
  HostConfig: {
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    Memory: number;
    MemoryReservation: number;
    MemorySwap: number;
    NanoCpus: number;
    CpuShares: number;
    CpusetCpus: string;
    PidsLimit: number | null;
    ShmSize: number;
    ExtraHosts: string[] | null;
    Dns: string[] | null;
    DnsSearch: string[] | null;
    CapAdd: string[] | null;
    CapDrop: string[] | null;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    Devices: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }> | null;
    Ulimits: Array<{ Name: string; Soft: number; Hard: number }> | null;
    Sysctls: Record<string, string> | null;
    GroupAdd: string[] | null;
    Tmpfs: Record<string, string> | null;
    LogConfig: { Type: string; Config: Record<string, string> };
  };
}

describe("container options on Docker", () => {
  let state: ContainersState = {};
  const base: ContainerConfig = { name, image: env.image, init: true, networkMode: "none", args: ["sleep", "100000"] };
  const desired = (config: Partial<ContainerConfig>): ContainersState => ({
    app: { container: { config: { ...base, ...config }, runtime }, host: { directConfig: {} } },
  });
  const converge = async (want: ContainersState): Promise<Plan> => {
    const resource = new ContainersResource({ previousState: state, desiredState: want });
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
    const resource = new ContainersResource({ previousState: state, desiredState: want });
    try {
      await resource.checkCurrentState();
      return resource.plan();
    } finally {
      await resource.close();
    }
  };
  const inspect = async (): Promise<Inspect> => {
    const res = await dockerLocal(`/containers/${name}/json`);
    expect(res.status).toBe(200);
    return res.body as Inspect;
  };
  const action = (plan: Plan) => plan.changes.find((c) => c.name === "app")?.action;

  afterAll(async () => {
    await dockerLocal(`/containers/${name}?force=1`, { method: "DELETE" });
  });

  const group1 = { restartPolicy: "on-failure:3", stopSignal: "SIGQUIT", stopTimeout: 7 };

  test("restartPolicy, stopSignal, stopTimeout: converge, the engine shows each, a second plan is empty", async () => {
    expect(action(await converge(desired(group1)))).toBe("create");
    const seen = await inspect();
    expect(seen.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    expect([seen.Config.StopSignal, seen.Config.StopTimeout]).toEqual(["SIGQUIT", 7]);
    expect((await planOnly(desired(group1))).empty).toBe(true);
  }, 120_000);

  test("a restart policy change is applied in place: same container, new policy, then nothing to do", async () => {
    const before = (await inspect()).Id;
    const want = desired({ ...group1, restartPolicy: "always" });
    const plan = await converge(want);
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.diff).toEqual([
      { op: "~", path: "restartPolicy", before: '"on-failure:3"', after: '"always"' },
    ]);
    const seen = await inspect();
    expect(seen.Id).toBe(before);
    expect(seen.State.Status).toBe("running");
    expect(seen.HostConfig.RestartPolicy.Name).toBe("always");
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test("a restart policy changed behind berth's back (docker update) is planned back, in place", async () => {
    const want = desired({ ...group1, restartPolicy: "always" });
    const before = await inspect();
    const res = await dockerLocal(`/containers/${before.Id}/update`, {
      method: "POST",
      body: { RestartPolicy: { Name: "no" } },
    });
    expect(res.status).toBe(200);
    const plan = await converge(want);
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.reasons[0]).toContain("changed outside berth");
    const seen = await inspect();
    expect([seen.Id, seen.HostConfig.RestartPolicy.Name]).toEqual([before.Id, "always"]);
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test("a stop signal change recreates the container", async () => {
    const before = (await inspect()).Id;
    const want = desired({ ...group1, restartPolicy: "always", stopSignal: "SIGINT" });
    const plan = await converge(want);
    expect(action(plan)).toBe("recreate");
    const seen = await inspect();
    expect(seen.Id).not.toBe(before);
    expect(seen.Config.StopSignal).toBe("SIGINT");
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test("back to the defaults: existing-style containers plan nothing after converging", async () => {
    await converge(desired({}));
    const seen = await inspect();
    expect(seen.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    expect((await planOnly(desired({}))).empty).toBe(true);
  }, 120_000);

  const MIB = 1024 ** 2;
  const limits = {
    memory: "64m",
    memoryReservation: "32m",
    memorySwap: "256m",
    cpus: 0.5,
    cpuShares: 512,
    cpusetCpus: "0",
    pidsLimit: 100,
    shmSize: "128m",
  };

  test("resources: converge, the engine shows each limit, a second plan is empty", async () => {
    await converge(desired(limits));
    const host = (await inspect()).HostConfig;
    expect(host).toMatchObject({
      Memory: 64 * MIB,
      MemoryReservation: 32 * MIB,
      MemorySwap: 256 * MIB,
      NanoCpus: 500_000_000,
      CpuShares: 512,
      CpusetCpus: "0",
      PidsLimit: 100,
      ShmSize: 128 * MIB,
    });
    expect((await planOnly(desired(limits))).empty).toBe(true);
  }, 120_000);

  test("memory, CPU and pids changes are applied in place: same container, new limits, then nothing", async () => {
    const before = (await inspect()).Id;
    const want = desired({ ...limits, memory: "128m", memorySwap: "512m", cpus: 1, pidsLimit: 200 });
    const plan = await converge(want);
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.diff.map((d) => d.path)).toEqual([
      "cpus",
      "memory",
      "memorySwap",
      "pidsLimit",
    ]);
    const seen = await inspect();
    expect([seen.Id, seen.State.Status]).toEqual([before, "running"]);
    expect(seen.HostConfig).toMatchObject({ Memory: 128 * MIB, MemorySwap: 512 * MIB, NanoCpus: 1e9, PidsLimit: 200 });
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test("a memory limit changed behind berth's back (docker update) is planned back, in place", async () => {
    const want = desired({ ...limits, memory: "128m", memorySwap: "512m", cpus: 1, pidsLimit: 200 });
    const before = await inspect();
    const res = await dockerLocal(`/containers/${before.Id}/update`, { method: "POST", body: { Memory: 96 * MIB } });
    expect(res.status).toBe(200);
    const plan = await converge(want);
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.diff).toEqual([
      { op: "~", path: "memory", before: String(96 * MIB), after: String(128 * MIB) },
    ]);
    const seen = await inspect();
    expect([seen.Id, seen.HostConfig.Memory]).toEqual([before.Id, 128 * MIB]);
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test(
    "a memory limit without swap: the engine's doubled swap plans nothing, and raising it updates in place",
    async () => {
      await converge(desired({ memory: "64m" }));
      expect((await inspect()).HostConfig.MemorySwap).toBe(128 * MIB);
      expect((await planOnly(desired({ memory: "64m" }))).empty).toBe(true);
      const before = (await inspect()).Id;
      expect(action(await converge(desired({ memory: "256m" })))).toBe("update");
      const seen = await inspect();
      expect([seen.Id, seen.HostConfig.Memory, seen.HostConfig.MemorySwap]).toEqual([before, 256 * MIB, 512 * MIB]);
      expect((await planOnly(desired({ memory: "256m" }))).empty).toBe(true);
    },
    120_000,
  );

  test("a shmSize change, or removing a limit, recreates the container", async () => {
    let before = (await inspect()).Id;
    expect(action(await converge(desired({ memory: "256m", shmSize: "32m" })))).toBe("recreate");
    expect((await inspect()).HostConfig.ShmSize).toBe(32 * MIB);
    expect((await inspect()).Id).not.toBe(before);
    before = (await inspect()).Id;
    const plan = await converge(desired({}));
    expect(action(plan)).toBe("recreate");
    const seen = await inspect();
    expect([seen.Id === before, seen.HostConfig.Memory]).toEqual([false, 0]);
    expect((await planOnly(desired({}))).empty).toBe(true);
  }, 120_000);

  const naming = {
    labels: { "com.example.team": "infra", tier: "db" },
    hostname: "db-1",
    domainname: "example.com",
    extraHosts: ["registry:10.0.0.5"],
    dns: ["10.0.0.53"],
    dnsSearch: ["example.com"],
  };

  test(
    "labels, hostname, domainname, extraHosts, dns, dnsSearch: converge, the engine shows each, then nothing",
    async () => {
      await converge(desired(naming));
      const seen = await inspect();
      expect(seen.Config.Labels).toMatchObject({ ...naming.labels, "berth.managed": "true", "berth.name": name });
      expect([seen.Config.Hostname, seen.Config.Domainname]).toEqual(["db-1", "example.com"]);
      expect([seen.HostConfig.ExtraHosts, seen.HostConfig.Dns, seen.HostConfig.DnsSearch]).toEqual([
        naming.extraHosts,
        naming.dns,
        naming.dnsSearch,
      ]);
      expect((await planOnly(desired(naming))).empty).toBe(true);
    },
    120_000,
  );

  test("a label change recreates the container, with a readable diff", async () => {
    const before = (await inspect()).Id;
    const want = desired({ ...naming, labels: { ...naming.labels, tier: "web" } });
    const plan = await converge(want);
    expect(action(plan)).toBe("recreate");
    expect(plan.changes.find((c) => c.name === "app")?.diff).toEqual([
      { op: "~", path: "labels.tier", before: '"db"', after: '"web"' },
    ]);
    const seen = await inspect();
    expect([seen.Id === before, seen.Config.Labels["tier"]]).toEqual([false, "web"]);
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  const security = {
    capAdd: ["NET_ADMIN"],
    capDrop: ["NET_RAW"],
    securityOpt: ["no-new-privileges"],
    readOnly: true,
    devices: [{ source: "/dev/zero", target: "/dev/berth-zero", permissions: "rw" }],
    ulimits: { nofile: { soft: 1024, hard: 2048 } },
    sysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmax": "1000000" },
    groupAdd: ["123"],
    tmpfs: { "/run/scratch": "size=16m,mode=1777" },
  };
  const cap = (names: string[] | null) => (names ?? []).map((n) => n.replace(/^CAP_/, ""));

  test("security fields: converge, the engine shows each, then nothing; a change recreates", async () => {
    await converge(desired(security));
    const seen = await inspect();
    expect([cap(seen.HostConfig.CapAdd), cap(seen.HostConfig.CapDrop)]).toEqual([["NET_ADMIN"], ["NET_RAW"]]);
    expect(seen.HostConfig).toMatchObject({
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Devices: [{ PathOnHost: "/dev/zero", PathInContainer: "/dev/berth-zero", CgroupPermissions: "rw" }],
      Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
      Sysctls: security.sysctls,
      GroupAdd: ["123"],
      Tmpfs: security.tmpfs,
    });
    expect(seen.State.Status).toBe("running");
    expect((await planOnly(desired(security))).empty).toBe(true);
    const before = seen.Id;
    const want = desired({ ...security, readOnly: false });
    const plan = await converge(want);
    expect(action(plan)).toBe("recreate");
    expect(plan.changes.find((c) => c.name === "app")?.diff).toEqual([{ op: "-", path: "readOnly", before: "true" }]);
    expect((await inspect()).Id).not.toBe(before);
    expect((await planOnly(want)).empty).toBe(true);
  }, 120_000);

  test(
    "logging: rotated json-file by default; another driver recreates, shows in the engine, then nothing",
    async () => {
      await converge(desired({}));
      expect((await inspect()).HostConfig.LogConfig).toEqual({
        Type: "json-file",
        Config: { "max-file": "3", "max-size": "10m" },
      });
      const before = (await inspect()).Id;
      const want = desired({ logging: { driver: "local", options: { "max-size": "5m" } } });
      const plan = await converge(want);
      expect(action(plan)).toBe("recreate");
      expect(plan.changes.find((c) => c.name === "app")?.diff.map((d) => d.path)).toContain("logging.driver");
      const seen = await inspect();
      expect([seen.Id === before, seen.HostConfig.LogConfig]).toEqual([false, {
        Type: "local",
        Config: { "max-size": "5m" },
      }]);
      expect((await planOnly(want)).empty).toBe(true);
    },
    120_000,
  );
});

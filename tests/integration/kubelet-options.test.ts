/**
 * The container options the kubelet runtime maps to CRI (resources,
 * capabilities, security options, devices, sysctls, groups), their in-place
 * update, and the rotation of the log files it owns, against a real
 * containerd. What containerd made is read with its own client (`ctr`: the
 * OCI spec it keeps), commands run in the container through a CRI client of
 * the test's own, and the host's files; not through the runtime under test.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerConfig, ContainersState } from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";
import type { Plan } from "../../engine/plan.ts";
import { criClient } from "../../runtimes/kubelet/cri-client.ts";
import { grpcClient } from "../../runtimes/kubelet/grpc.ts";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { LOG_ROOT } from "../../runtimes/kubelet/pod-spec.ts";
import { directTransport } from "../../transports/direct.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { codeOf } from "../support/errors.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const RUN = `bko-${process.pid}`;
const RUN_LABEL = "berth.test-run";
const transport = directTransport();
const kubelet = kubeletRuntime({ address: `unix://${cri.local.socket}` }, { transport, hostLabel: "local" });
const rawGrpc = grpcClient({
  open: () => transport.openUnixSocket(cri.local.socket),
  description: "containerd (test view)",
});
const raw = criClient(rawGrpc);
const dir = mkdtempSync("/tmp/kubelet-options-test-");
const SLEEPER = { entrypoint: ["sh", "-c"], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"] };

function ctr(...args: string[]): string {
  return execFileSync("ctr", ["-a", cri.local.socket, "-n", "k8s.io", ...args], { encoding: "utf8" });
}

interface CtrInfo {
  Labels: Record<string, string>;
  Spec: {
    annotations?: Record<string, string>;
    process: { user: { additionalGids?: number[] }; capabilities: { bounding: string[] }; noNewPrivileges?: boolean };
    root: { readonly?: boolean };
    linux: {
      resources: {
        memory?: { limit?: number; swap?: number };
        cpu?: { shares?: number; quota?: number; period?: number; cpus?: string };
      };
      devices?: Array<{ path: string }>;
      seccomp?: { syscalls?: Array<{ names: string[]; action: string }> };
      sysctl?: Record<string, string>;
    };
  };
}

function info(id: string): CtrInfo {
  return JSON.parse(ctr("containers", "info", id)) as CtrInfo;
}

/** The CRI containers of sandbox `sandboxId`, as ctr shows them: the container's own, and berth's log rotator. */
function containersOf(sandboxId: string): { main: string[]; rotators: string[] } {
  const inSandbox = ctr("containers", "ls", "-q", `labels."io.cri-containerd.kind"==container`)
    .split("\n")
    .filter((id) => id !== "")
    .map((id) => ({ id, info: info(id) }))
    .filter((c) => c.info.Spec.annotations?.["io.kubernetes.cri.sandbox-id"] === sandboxId);
  const rotators = inSandbox.filter((c) => c.info.Labels["berth.logs-reader"] === "rotator").map((c) => c.id);
  return { main: inSandbox.map((c) => c.id).filter((id) => !rotators.includes(id)), rotators };
}

function config(suffix: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { name: `${RUN}-${suffix}`, image: cri.image, networkMode: "host", ...SLEEPER, ...extra };
}

async function createStarted(suffix: string, extra: Partial<ContainerConfig> = {}): Promise<string> {
  const id = await kubelet.create(config(suffix, extra), { labels: { [RUN_LABEL]: RUN } });
  await kubelet.start(id);
  return id;
}

/** The one container of the sandbox besides the rotator. */
function mainContainer(sandboxId: string): string {
  const { main } = containersOf(sandboxId);
  expect(main.length).toBe(1);
  return main[0] as string;
}

/** Runs `cmd` in the container through containerd's ExecSync (a client of the test's own, not the runtime's). */
async function execIn(containerId: string, ...cmd: string[]): Promise<string> {
  const result = await raw.execSync(containerId, cmd, 10);
  return (new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr)).trim();
}

afterAll(async () => {
  for (const c of await kubelet.list({ [RUN_LABEL]: RUN })) {
    await kubelet.remove(c.id, { force: true }).catch(() => {});
    rmSync(`${LOG_ROOT}/${c.name}`, { recursive: true, force: true });
  }
  await kubelet.close();
  await rawGrpc.close();
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("kubelet runtime: the container options CRI has", () => {
  test(
    "`create()` sends resources, capabilities, security options, devices, sysctls and groups; ctr shows each",
    async () => {
      const profile = join(dir, "seccomp.json");
      writeFileSync(
        profile,
        JSON.stringify({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
        }),
      );
      const id = await createStarted("all", {
        memory: "64m",
        memorySwap: "128m",
        cpus: 0.5,
        cpuShares: 512,
        cpusetCpus: "0",
        capAdd: ["NET_ADMIN"],
        capDrop: ["cap_net_raw"],
        securityOpt: ["no-new-privileges", `seccomp=${profile}`],
        readOnly: true,
        devices: [{ source: "/dev/zero", target: "/dev/berth-zero", permissions: "rw" }],
        sysctls: { "kernel.shmmax": "1000000" },
        groupAdd: ["123", "456"],
      });
      const main = mainContainer(id);
      const spec = info(main).Spec;
      expect(spec.linux.resources.memory).toMatchObject({ limit: 64 * 1024 ** 2, swap: 128 * 1024 ** 2 });
      expect(spec.linux.resources.cpu).toMatchObject({ shares: 512, quota: 50_000, period: 100_000, cpus: "0" });
      expect(spec.process.capabilities.bounding).toContain("CAP_NET_ADMIN");
      expect(spec.process.capabilities.bounding).not.toContain("CAP_NET_RAW");
      expect(spec.process.noNewPrivileges).toBe(true);
      expect(spec.linux.seccomp?.syscalls).toEqual([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }]);
      expect(spec.root.readonly).toBe(true);
      expect(spec.linux.devices?.map((d) => d.path)).toContain("/dev/berth-zero");
      expect([123, 456].filter((gid) => spec.process.user.additionalGids?.includes(gid))).toEqual([123, 456]);
      // The sysctl is the sandbox's; the container shares its IPC namespace, so it sees the value.
      expect(info(id).Spec.linux.sysctl).toMatchObject({ "kernel.shmmax": "1000000" });
      expect(await execIn(main, "cat", "/proc/sys/kernel/shmmax")).toBe("1000000");
      expect(await execIn(main, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")).toBe(
        String(64 * 1024 ** 2),
      );
      const groups = (await execIn(main, "id", "-G")).split(" ");
      expect(["123", "456"].filter((gid) => groups.includes(gid))).toEqual(["123", "456"]);
      // The seccomp profile is in force: mkdir is refused in a writable place.
      expect(await execIn(main, "sh", "-c", "mkdir /dev/shm/berth-x 2>&1; echo rc=$?")).toContain("rc=1");
    },
    30_000,
  );

  test("`update()` changes memory and CPU in place; a start after an exit keeps the updated limits", async () => {
    const id = await createStarted("update", { memory: "64m", cpus: 0.5 });
    const before = mainContainer(id);
    await kubelet.update(id, config("update", { memory: "96m", cpus: 1.5 }));
    expect(mainContainer(id)).toBe(before);
    expect(await execIn(before, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")).toBe(
      String(96 * 1024 ** 2),
    );
    expect(await execIn(before, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")).toBe("150000");
    // CRI containers start once: start() makes a new one in the sandbox, from the config the sandbox was made with.
    await kubelet.stop(id, { timeoutSeconds: 5 });
    await kubelet.start(id);
    const after = mainContainer(id);
    expect(after).not.toBe(before);
    expect(info(after).Spec.linux.resources.memory?.limit).toBe(96 * 1024 ** 2);
    expect(info(after).Spec.linux.resources.cpu?.quota).toBe(150_000);
  }, 30_000);

  test("the options CRI lacks are refused before anything is created", async () => {
    const cases: Array<[Partial<ContainerConfig>, string]> = [
      [{ memoryReservation: "32m" }, "remove `memoryReservation`"],
      [{ pidsLimit: 100 }, "remove `pidsLimit`"],
      [{ shmSize: "128m" }, "remove `shmSize`"],
      [{ ulimits: { nofile: { soft: 1024, hard: 2048 } } }, "remove `ulimits`"],
      [{ tmpfs: { "/scratch": "" } }, "remove `tmpfs`"],
      [{ groupAdd: ["wheel"] }, 'groupAdd "wheel": CRI takes group ids only'],
      [{ sysctls: { "net.ipv4.ip_forward": "1" } }, "the container uses the host network"],
      [{ securityOpt: ["label=disable"] }, 'securityOpt "label=disable"'],
      [{ logging: { options: { compress: "true" } } }, 'logging option "compress"'],
    ];
    for (const [extra, message] of cases) {
      const result = await codeOf(kubelet.create(config("refused", extra), { labels: { [RUN_LABEL]: RUN } }));
      expect(result.code).toBe("VALIDATION");
      expect(result.message).toContain(message);
    }
    expect(await kubelet.inspect(`${RUN}-refused`)).toBeUndefined();
    expect(ctr("containers", "ls", "-q", `labels."io.kubernetes.pod.name"==${RUN}-refused`).trim()).toBe("");
  });
});

describe("the engine on CRI: resource limits", () => {
  const runtime = { kubelet: { address: `unix://${cri.local.socket}` } };
  let state: ContainersState = {};
  const desired = (extra: Partial<ContainerConfig>): ContainersState => ({
    app: { container: { config: config("engine", extra), runtime }, host: { directConfig: {} } },
  });
  const resource = async <T>(want: ContainersState, fn: (r: ContainersResource) => Promise<T>): Promise<T> => {
    const r = new ContainersResource({ previousState: state, desiredState: want });
    try {
      await r.checkCurrentState();
      return await fn(r);
    } finally {
      await r.close();
    }
  };
  const converge = (want: ContainersState) =>
    resource(want, async (r): Promise<Plan> => {
      const plan = r.plan();
      const result = await r.apply();
      expect(result.results.filter((x) => !x.ok)).toEqual([]);
      state = result.state;
      return plan;
    });
  const action = (plan: Plan) => plan.changes.find((c) => c.name === "app")?.action;

  afterAll(async () => {
    await resource({}, (r) => r.apply());
  });

  test("limits converge; a memory and CPU change is an `update` applied in place; then the plan is empty", async () => {
    expect(action(await converge(desired({ memory: "64m", cpus: 0.5 })))).toBe("create");
    const id = state["app"]?.container.status?.id as string;
    const before = mainContainer(id);
    const plan = await converge(desired({ memory: "96m", cpus: 1 }));
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.diff.map((d) => d.path)).toEqual(["cpus", "memory"]);
    expect(state["app"]?.container.status?.id).toBe(id);
    expect(mainContainer(id)).toBe(before);
    expect(info(before).Spec.linux.resources.memory?.limit).toBe(96 * 1024 ** 2);
    expect(await execIn(before, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")).toBe("100000");
    expect((await resource(desired({ memory: "96m", cpus: 1 }), (r) => Promise.resolve(r.plan()))).empty).toBe(true);
  }, 60_000);

  test("a memory limit changed behind berth's back (UpdateContainerResources) is planned back, in place", async () => {
    const want = desired({ memory: "96m", cpus: 1 });
    const id = state["app"]?.container.status?.id as string;
    const main = mainContainer(id);
    await raw.updateContainerResources(main, { memoryLimitInBytes: 128 * 1024 ** 2 });
    const plan = await converge(want);
    expect(action(plan)).toBe("update");
    expect(plan.changes.find((c) => c.name === "app")?.diff.map((d) => d.path)).toEqual(["memory"]);
    expect(info(main).Spec.linux.resources.memory?.limit).toBe(96 * 1024 ** 2);
    expect(await execIn(main, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")).toBe(String(96 * 1024 ** 2));
    expect((await resource(want, (r) => Promise.resolve(r.plan()))).empty).toBe(true);
  }, 60_000);
});

describe("kubelet runtime: log rotation", () => {
  test("a chatty container's log stays within max-size and max-file; `logs()` reads the rotated file too", async () => {
    // About 100 lines of 100 bytes a second, against a 16 KiB max-size: a rotation every 2 s or so.
    const line = "x".repeat(90);
    const id = await createStarted("chatty", {
      args: [`i=0; trap 'exit 0' TERM; while :; do i=$((i+1)); echo "$i ${line}"; usleep 10000; done`],
      logging: { options: { "max-size": "16k", "max-file": "2" } },
    });
    expect(containersOf(id).rotators.length).toBe(1);
    const logDir = `${LOG_ROOT}/${RUN}-chatty`;
    const file = `${logDir}/${id}.log`;
    const sizes: number[] = [];
    for (const deadline = Date.now() + 6_000; Date.now() < deadline;) {
      await new Promise((done) => setTimeout(done, 250));
      if (existsSync(file)) sizes.push(statSync(file).size);
    }
    // Rotated: the file shrank at least once; max-file 2 keeps one old file beside it, never a second.
    expect(sizes.some((size, i) => i > 0 && size < (sizes[i - 1] as number))).toBe(true);
    expect(readdirSync(logDir).sort()).toEqual([`${id}.log`, `${id}.log.1`]);
    // One second's output (about 12 KiB with the CRI prefix) past max-size at most: checked every second.
    expect(Math.max(...sizes)).toBeLessThan(16 * 1024 + 24 * 1024);
    expect(statSync(`${file}.1`).size).toBeLessThan(16 * 1024 + 24 * 1024);
    // The rotated file's lines come before the current file's, and logs() gives both, in order.
    const firstCurrent = Number(/ stdout F (\d+) /.exec(readFileSync(file, "utf8"))?.[1]);
    const out = ((await kubelet.logs?.(id))?.stdout ?? "").split("\n").filter((l) => l !== "").map((l) =>
      Number(l.split(" ")[0])
    );
    expect(out[0]).toBeLessThan(firstCurrent);
    expect(out).toEqual([...out].sort((a, b) => a - b));
  }, 30_000);

  test("`max-size: -1` turns rotation off: no rotator in the sandbox", async () => {
    const id = await createStarted("norotate", { logging: { options: { "max-size": "-1" } } });
    expect(containersOf(id)).toMatchObject({ rotators: [] });
  }, 30_000);
});

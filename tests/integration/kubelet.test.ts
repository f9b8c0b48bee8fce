/**
 * The kubelet runtime plugin against a real containerd (CRI v1), locally
 * and through test host h1's SSH server: container life, config options,
 * refusals, labels, and files copied with tar through exec.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ContainerConfig } from "../../core/model.ts";
import { criClient } from "../../runtimes/kubelet/cri-client.ts";
import { grpcClient } from "../../runtimes/kubelet/grpc.ts";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { READER_LABEL } from "../../runtimes/kubelet/logs.ts";
import { LOG_ROOT } from "../../runtimes/kubelet/pod-spec.ts";
import { loadRuntime } from "../../runtimes/registry.ts";
import type { Runtime } from "../../runtimes/runtime.ts";
import { directTransport } from "../../transports/direct.ts";
import { sshTransport } from "../../transports/ssh/mod.ts";
import { hostPath, loadTestEnv, testHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { codeOf } from "../support/errors.ts";
import { h1ContainerdMissing, loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const RUN = `bkt-${process.pid}`;
const RUN_LABEL = "berth.test-run";
const transport = directTransport();
const address = `unix://${cri.local.socket}`;
const kubelet = kubeletRuntime({ address }, { transport, hostLabel: "local" });
// An independent view of containerd, to check what the plugin did.
const rawGrpc = grpcClient({
  open: () => transport.openUnixSocket(cri.local.socket),
  description: "containerd (test view)",
});
const raw = criClient(rawGrpc);
const dir = mkdtempSync("/tmp/kubelet-test-");
const SLEEPER = { entrypoint: ["sh", "-c"], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"] };

/** Ids of this run's containers and sandboxes, as containerd's own `ctr` lists them. */
function ctrContainers(): string[] {
  const out = execFileSync("ctr", [
    "-a",
    cri.local.socket,
    "-n",
    "k8s.io",
    "containers",
    "ls",
    "-q",
    `labels."${RUN_LABEL}"==${RUN}`,
  ], { encoding: "utf8" });
  return out.split("\n").filter((l) => l !== "").sort();
}

function config(suffix: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { name: `${RUN}-${suffix}`, image: cri.image, ...SLEEPER, ...extra };
}

function create(
  runtime: Runtime,
  suffix: string,
  extra: Partial<ContainerConfig> = {},
  labels: Record<string, string> = {},
): Promise<string> {
  return runtime.create(config(suffix, extra), { labels: { [RUN_LABEL]: RUN, ...labels } });
}

afterAll(async () => {
  for (const s of await raw.listPodSandbox({ labelSelector: { [RUN_LABEL]: RUN } })) {
    await raw.stopPodSandbox(s.id);
    await raw.removePodSandbox(s.id);
    rmSync(`${LOG_ROOT}/${s.metadata?.name ?? ""}`, { recursive: true, force: true });
  }
  await kubelet.close();
  await rawGrpc.close();
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("kubeletRuntime() containers", () => {
  test(
    "`create()`, `start()`, `status()`, `inspect()`, `stop()` and `remove()` drive a container through its life",
    async () => {
      const name = `${RUN}-life`;
      const id = await create(kubelet, "life", {}, { role: "life" });
      expect(await kubelet.status(id)).toEqual({ id, status: "created" });
      await kubelet.start(id);
      await kubelet.start(id); // already running: fine
      expect((await kubelet.status(id))?.status).toBe("running");
      const { env, settings, ...seen } = (await kubelet.inspect(name)) ?? {};
      expect(seen).toEqual({
        id,
        status: "running",
        name,
        image: cri.image,
        labels: { [RUN_LABEL]: RUN, role: "life" },
      });
      // The environment comes from containerd's verbose status (for drift of sensitive values).
      expect(env?.some((line) => line.startsWith("PATH="))).toBe(true);
      // The in-place settings from its limits, for drift: none set.
      expect(settings).toEqual({});
      await kubelet.stop(id, { timeoutSeconds: 5 });
      await kubelet.stop(id); // already stopped: fine
      expect((await kubelet.status(id))?.status).toBe("exited");
      // CRI containers start once: start() replaces it in the same sandbox, and the id stays.
      await kubelet.start(id);
      expect(await kubelet.status(id)).toEqual({ id, status: "running" });
      expect(await codeOf(kubelet.remove(id))).toMatchObject({ code: "CONFLICT" });
      await kubelet.remove(id, { force: true });
      expect(await kubelet.status(id)).toBeUndefined();
      expect(await kubelet.inspect(name)).toBeUndefined();
      expect(await raw.listPodSandbox({ id })).toEqual([]);
    },
    60_000,
  );

  test("`status()` and `inspect()` of an unknown id are undefined; `start()` of one is NOT_FOUND", async () => {
    const unknown = "0".repeat(64);
    expect(await kubelet.status(unknown)).toBeUndefined();
    expect(await kubelet.inspect(unknown)).toBeUndefined();
    expect(await kubelet.inspect(`${RUN}-nobody`)).toBeUndefined();
    expect((await codeOf(kubelet.start(unknown))).code).toBe("NOT_FOUND");
  });

  test("`list()` returns the containers carrying every given label", async () => {
    const a = await create(kubelet, "list-a", {}, { group: "a" });
    await create(kubelet, "list-b", {}, { group: "b" });
    const found = await kubelet.list({ [RUN_LABEL]: RUN, group: "a" });
    expect(found.map((c) => c.id)).toEqual([a]);
    expect(found[0]).toMatchObject({ name: `${RUN}-list-a`, status: "created", image: cri.image });
    expect(await kubelet.list({ [RUN_LABEL]: RUN, group: "none" })).toEqual([]);
  });

  test("`create()` refuses a taken name with CONFLICT", async () => {
    await create(kubelet, "taken");
    expect((await codeOf(create(kubelet, "taken"))).code).toBe("CONFLICT");
  });

  test("`create()` passes env, command, args, workdir, user, group, mounts, namespaces to the container", async () => {
    const id = await create(kubelet, "options", {
      entrypoint: ["sh", "-c"],
      // A relative path and $PWD: the shell runs in workingDir.
      args: ['echo "$ALPHA $ZED $(id -u):$(id -g) $PWD" > out; trap "exit 0" TERM; while :; do sleep 1; done'],
      workingDir: "/data",
      env: { ZED: "last", ALPHA: "first" },
      user: "1000",
      group: "1001",
      mounts: [{ source: `${dir}/`, target: "/data", propagation: "rprivate" }],
      pidMode: "host",
      ipcMode: "host",
      privileged: true,
    });
    execFileSync("chmod", ["0777", dir]);
    await kubelet.start(id);
    const container = (await ownContainers(id))[0];
    const status = await raw.containerStatus(container?.id as string);
    expect(status?.mounts.map((m) => [m.hostPath, m.containerPath, m.propagation])).toEqual([[
      dir,
      "/data",
      "PROPAGATION_PRIVATE",
    ]]);
    for (let i = 0; i < 50 && !existsNonEmpty(join(dir, "out")); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(join(dir, "out"), "utf8")).toBe("first last 1000:1001 /data\n");
    // Host PID namespace: the host's PID 1 is visible.
    const ps = await raw.execSync(container?.id as string, ["sh", "-c", "cat /proc/1/comm"], 10);
    expect(new TextDecoder().decode(ps.stdout).trim()).not.toBe("sh");
  }, 30_000);

  test("`create()` refuses what CRI cannot honour, before creating anything", async () => {
    const cases: Array<[Partial<ContainerConfig>, string]> = [
      [{ networkMode: "none" }, 'networkMode "none" needs a pod network (CNI)'],
      [{ networkMode: "bridge" }, "needs a pod network"],
      [{ ports: [{ port: 8080 }] }, "ports need a pod network"],
      [{ init: true }, "CRI has no init option"],
      [{ group: "wheel" }, 'group "wheel" must be numeric'],
      [{ pidMode: "container:x" }, 'pidMode "container:x" is not supported'],
    ];
    for (const [extra, message] of cases) {
      const result = await codeOf(create(kubelet, "refused", extra));
      expect(result.code).toBe("VALIDATION");
      expect(result.message).toContain(message);
    }
    expect(await kubelet.inspect(`${RUN}-refused`)).toBeUndefined();
  });

  test(
    "`create()` passes the container options CRI has: readOnly (root file system) and the user's labels",
    async () => {
      const id = await create(kubelet, "ro", { readOnly: true, labels: { tier: "db" }, stopTimeout: 5 });
      await kubelet.start(id);
      const container = (await ownContainers(id))[0];
      const status = await raw.containerStatus(container?.id as string);
      expect(status?.labels["tier"]).toBe("db");
      const write = await raw.execSync(container?.id as string, ["sh", "-c", "touch /berth-ro 2>&1; echo $?"], 10);
      expect(new TextDecoder().decode(write.stdout)).toContain("Read-only file system");
    },
    30_000,
  );

  test("`create()` mounts a bind mount read-only when it says readOnly: writes through it fail", async () => {
    const id = await create(kubelet, "ro-mount", { mounts: [{ source: "/etc", target: "/host-etc", readOnly: true }] });
    await kubelet.start(id);
    const container = (await ownContainers(id))[0];
    const write = await raw.execSync(
      container?.id as string,
      ["sh", "-c", "touch /host-etc/berth-ro 2>&1; echo $?"],
      10,
    );
    expect(new TextDecoder().decode(write.stdout)).toContain("Read-only file system");
    const status = await raw.containerStatus(container?.id as string);
    expect(status?.mounts?.find((m) => m.containerPath === "/host-etc")?.readonly).toBe(true);
  }, 30_000);

  test("`create()` refuses the container options CRI does not have, before creating anything", async () => {
    const cases: Array<[Partial<ContainerConfig>, string]> = [
      [{ restartPolicy: "always" }, "remove `restartPolicy`"],
      [{ stopSignal: "SIGQUIT" }, "remove `stopSignal`"],
      [{ pidsLimit: 100 }, "remove `pidsLimit`"],
      [{ hostname: "db-1" }, "remove `hostname`"],
      [{ ulimits: { nofile: { soft: 1, hard: 1 } } }, "remove `ulimits`"],
      [{ sysctls: { "net.ipv4.ip_forward": "1" } }, 'sysctl "net.ipv4.ip_forward"'],
      [{ logging: { driver: "local" } }, 'logging driver "local" is Docker-only: remove it'],
      [{ mounts: [{ type: "tmpfs", target: "/scratch" }] }, 'mount "/scratch": CRI has no tmpfs mount'],
      [{ mounts: [{ type: "volume", source: "data", target: "/data" }] }, 'mount "/data": CRI has no volume mount'],
      [{ networks: [{ name: "backend" }] }, "remove `networks`"],
    ];
    for (const [extra, message] of cases) {
      const result = await codeOf(create(kubelet, "refused-options", extra));
      expect(result.code).toBe("VALIDATION");
      expect(result.message).toContain(message);
    }
    expect(await kubelet.inspect(`${RUN}-refused-options`)).toBeUndefined();
    expect(ctrContainers().filter((c) => c.includes("refused-options"))).toEqual([]);
  });

  test("`create()` of a missing image fails with the runtime's reason and leaves no sandbox", async () => {
    const before = ctrContainers();
    const result = await codeOf(create(kubelet, "noimage", { image: "berth-missing-image:1" }));
    expect(result.code).toBe("NOT_FOUND");
    expect(result.message).toContain(`creating container "${RUN}-noimage" on host local: CreateContainer`);
    expect(result.message).toContain(`failed to resolve image "berth-missing-image:1": not found`);
    // containerd's own client: no sandbox or container of this run appeared.
    expect(ctrContainers()).toEqual(before);
  });

  test("`ensureImage()` finds a present image, and reports IMAGE_PULL for one no registry has", async () => {
    await kubelet.ensureImage(cri.image);
    const result = await codeOf(kubelet.ensureImage("127.0.0.1:1/berth/none:latest"));
    expect(result.code).toBe("IMAGE_PULL");
    expect(result.message).toContain('pulling image "127.0.0.1:1/berth/none:latest" on host local');
  }, 60_000);

  test("`remove()` deletes the container's log directory; a never-started container has none to delete", async () => {
    const name = `${RUN}-logdir`;
    const logDir = `${LOG_ROOT}/${name}`;
    const id = await create(kubelet, "logdir", { args: ["echo hello; trap 'exit 0' TERM; while :; do sleep 1; done"] });
    await kubelet.start(id);
    for (const deadline = Date.now() + 10_000; !existsNonEmpty(`${logDir}/${id}.log`);) {
      if (Date.now() > deadline) throw new Error("the container printed nothing within 10 s");
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(existsSync(logDir)).toBe(true);
    await kubelet.remove(id, { force: true });
    expect(existsSync(logDir)).toBe(false);
    expect(await raw.listPodSandbox({ id })).toEqual([]);

    const never = await create(kubelet, "logdir-never");
    await kubelet.remove(never);
    expect(existsSync(`${LOG_ROOT}/${RUN}-logdir-never`)).toBe(false);
    expect(await raw.listPodSandbox({ id: never })).toEqual([]);
  }, 60_000);

  test("`remove()` removes the container when its log directory cannot be deleted", async () => {
    // The cleaner runs configImage, which no registry has here (the rotator would too: rotation is off).
    const failing = kubeletRuntime({ address, configImage: "127.0.0.1:1/berth/none:latest" }, {
      transport,
      hostLabel: "local",
    });
    const logDir = `${LOG_ROOT}/${RUN}-logkept`;
    try {
      const id = await create(failing, "logkept", { logging: { options: { "max-size": "-1" } } });
      await failing.start(id);
      await failing.stop(id, { timeoutSeconds: 5 });
      expect(existsSync(logDir)).toBe(true);
      await failing.remove(id);
      expect(await raw.listPodSandbox({ id })).toEqual([]);
      expect(existsSync(logDir)).toBe(true);
    } finally {
      await failing.close();
      rmSync(logDir, { recursive: true, force: true });
    }
  }, 60_000);

  test("`loadRuntime()` picks the kubelet plugin from the runtime config", async () => {
    const runtime = await loadRuntime({ kubelet: { address } }, { transport, hostLabel: "local" });
    expect(runtime.filesNeedRunningContainer).toBe(true);
    expect(await runtime.status("0".repeat(64))).toBeUndefined();
    await runtime.close();
  });
});

/** The sandbox's containers but berth's log helpers (the rotator runs beside the container). */
async function ownContainers(sandboxId: string) {
  return (await raw.listContainers({ podSandboxId: sandboxId })).filter((c) => c.labels[READER_LABEL] === undefined);
}

function existsNonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

// Only the local containerd can pull: the registries listen on this namespace's loopback, h1's 127.0.0.1 is its own.
describe("kubeletRuntime() image pulls", () => {
  const registry = loadTestEnv().registry;
  const withAuth = (password: string) =>
    kubeletRuntime({ address, registryAuth: { [registry.authAddress]: { username: registry.username, password } } }, {
      transport,
      hostLabel: "local",
    });

  /** Removes every reference of `image` (tag, digest, id) from containerd, and waits until CRI sees it gone. */
  async function removeImage(image: string): Promise<void> {
    const ctr = (...args: string[]) =>
      execFileSync("ctr", ["-a", cri.local.socket, "-n", "k8s.io", "images", ...args], {
        encoding: "utf8",
        timeout: 30_000,
      });
    const rows = ctr("ls").split("\n").slice(1).map((line) => line.split(/\s+/));
    const digest = rows.find((row) => row[0] === image)?.[2];
    const refs = rows.filter((row) => digest !== undefined && row[2] === digest).map((row) => row[0] as string);
    if (refs.length > 0) ctr("rm", ...refs);
    for (const deadline = Date.now() + 10_000; (await raw.imageStatus(image)) !== undefined;) {
      if (Date.now() > deadline) throw new Error(`CRI still lists ${image} 10 s after its removal`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  test("`ensureImage()` pulls an image that is not present", async () => {
    await removeImage(registry.image);
    await kubelet.ensureImage(registry.image);
    expect(await raw.imageStatus(registry.image)).toMatch(/^sha256:/);
  }, 120_000);

  test("`ensureImage()` pulls with the registry's credentials from `registryAuth`", async () => {
    await removeImage(registry.authImage);
    const runtime = withAuth(registry.password);
    try {
      await runtime.ensureImage(registry.authImage);
    } finally {
      await runtime.close();
    }
    expect(await raw.imageStatus(registry.authImage)).toMatch(/^sha256:/);
  }, 120_000);

  test(
    "`ensureImage()` without credentials or with a wrong password is IMAGE_PULL, naming registryAuth, never the password",
    async () => {
      await removeImage(registry.authImage);
      const anonymous = await codeOf(kubelet.ensureImage(registry.authImage));
      expect(anonymous.code).toBe("IMAGE_PULL");
      expect(anonymous.message).toContain(`pulling image "${registry.authImage}" on host local`);
      expect(anonymous.message).toContain(`no credentials for ${registry.authAddress} in registryAuth`);
      const wrongPassword = `wrong-${registry.password}`;
      const runtime = withAuth(wrongPassword);
      try {
        const refused = await codeOf(runtime.ensureImage(registry.authImage));
        expect(refused.code).toBe("IMAGE_PULL");
        expect(refused.message).toContain(
          `the registry refused the credentials in registryAuth for ${registry.authAddress}`,
        );
        expect(refused.message).not.toContain(wrongPassword);
        expect(refused.message).not.toContain(registry.password);
      } finally {
        await runtime.close();
      }
      expect(await raw.imageStatus(registry.authImage)).toBeUndefined();
    },
    120_000,
  );
});

/**
 * The file operations, through one runtime, on a helper that mounts the host
 * at /mnt/host: `base` as the host names it, `at` where the test reads a host
 * path (that host's own view).
 */
function fileSuite(title: string, runtime: () => Runtime, base: string, at: (path: string) => string): void {
  describe(`kubeletRuntime() files ${title}`, () => {
    const suffix = base.split("/").at(-1) as string;
    let id = "";

    test("`writeFiles()` needs a running container", async () => {
      id = await create(runtime(), `files-${suffix}`, { mounts: [{ source: "/", target: "/mnt/host" }] });
      const result = await codeOf(runtime().writeFiles(id, [{ path: `/mnt/host${base}/x`, content: "x" }]));
      expect(result.code).toBe("CONFLICT");
      expect(result.message).toContain("not running");
      await runtime().start(id);
    }, 30_000);

    test("`writeFiles()` and `readFiles()` round-trip bytes 0..255 and 5 MiB, with mode and owner", async () => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7919) % 256);
      await runtime().writeFiles(id, [
        { path: `/mnt/host${base}/deep/bytes.bin`, content: bytes, mode: 0o640, uid: 1000, gid: 1001 },
        { path: `/mnt/host${base}/big.bin`, content: big },
        { path: `/mnt/host${base}/text.conf`, content: "héllo\n" },
      ]);
      expect(Buffer.compare(readFileSync(at(`${base}/deep/bytes.bin`)), Buffer.from(bytes))).toBe(0);
      expect(statSync(at(`${base}/deep/bytes.bin`)).mode & 0o777).toBe(0o640);
      expect(statSync(at(`${base}/deep/bytes.bin`)).uid).toBe(1000);
      expect(statSync(at(`${base}/big.bin`)).mode & 0o777).toBe(0o600);
      const read = await runtime().readFiles(id, [
        `/mnt/host${base}/deep/bytes.bin`,
        `/mnt/host${base}/missing`,
        `/mnt/host${base}/big.bin`,
        `/mnt/host${base}/text.conf`,
      ]);
      expect(read.map((f) => f.path)).toEqual([
        `/mnt/host${base}/deep/bytes.bin`,
        `/mnt/host${base}/big.bin`,
        `/mnt/host${base}/text.conf`,
      ]);
      expect(Buffer.compare(Buffer.from(read[0]?.content ?? []), Buffer.from(bytes))).toBe(0);
      expect(read[0]).toMatchObject({ mode: 0o640, uid: 1000, gid: 1001 });
      expect(Buffer.compare(Buffer.from(read[1]?.content ?? []), Buffer.from(big))).toBe(0);
      expect(new TextDecoder().decode(read[2]?.content)).toBe("héllo\n");
      expect(await runtime().readFiles(id, [`/mnt/host${base}/missing`])).toEqual([]);
    }, 60_000);

    test("`readFiles()` refuses a symlink with UNSAFE_PATH and a directory with BAD_PARAMETER", async () => {
      execFileSync("ln", ["-sf", "/etc/hostname", at(`${base}/link`)]);
      expect((await codeOf(runtime().readFiles(id, [`/mnt/host${base}/link`]))).code).toBe("UNSAFE_PATH");
      expect((await codeOf(runtime().readFiles(id, [`/mnt/host${base}/deep`]))).code).toBe("BAD_PARAMETER");
      expect((await codeOf(runtime().readFiles(id, [`/mnt/host${base}/../etc/passwd`]))).code).toBe("UNSAFE_PATH");
    }, 30_000);

    test("`stat()` and `mkdir()` report and create directories", async () => {
      await runtime().mkdir(id, [`/mnt/host${base}/made/a/b`], { mode: 0o750 });
      expect(statSync(at(`${base}/made/a/b`)).mode & 0o777).toBe(0o750);
      const info = await runtime().stat(id, [
        `/mnt/host${base}/made/a/b`,
        `/mnt/host${base}/link`,
        `/mnt/host${base}/big.bin`,
        `/mnt/host${base}/none`,
      ]);
      expect(info).toEqual([
        { path: `/mnt/host${base}/made/a/b`, mode: 0o750, isDirectory: true, isSymlink: false, size: 4096 },
        {
          path: `/mnt/host${base}/link`,
          mode: 0o777,
          isDirectory: false,
          isSymlink: true,
          size: "/etc/hostname".length,
        },
        { path: `/mnt/host${base}/big.bin`, mode: 0o600, isDirectory: false, isSymlink: false, size: 5 * 1024 * 1024 },
      ]);
      expect((await codeOf(runtime().mkdir(id, [`/mnt/host${base}/big.bin`]))).code).toBe("CONFLICT");
      await runtime().remove(id, { force: true });
    }, 30_000);
  });
}

fileSuite("locally", () => kubelet, join(dir, "local"), (path) => path);

if (cri.h1 !== null) {
  const env = loadTestEnv();
  const h1 = testHost(env, "h1");
  const ssh = sshTransport(
    {
      address: h1.address,
      port: h1.port,
      user: env.ssh.user,
      privateKeyPath: env.ssh.privateKeyPath,
      knownHostsFile: env.ssh.knownHostsFile,
    },
    { env: {} },
  );
  const overSsh = kubeletRuntime({ address: `unix://${cri.h1.socket}` }, { transport: ssh, hostLabel: "h1" });
  afterAll(async () => {
    for (const c of await overSsh.list({ [RUN_LABEL]: RUN })) await overSsh.remove(c.id, { force: true });
    await overSsh.close();
    await ssh.close();
  });
  // On h1 only: a file written through another host would not be in h1's view.
  const base = `${env.view}/kubelet-test-${process.pid}/ssh`;
  afterAll(() =>
    rmSync(hostPath(env, h1, `${env.view}/kubelet-test-${process.pid}`), { recursive: true, force: true })
  );
  fileSuite(
    "through SSH (exec stream reached with direct-tcpip)",
    () => overSsh,
    base,
    (path) => hostPath(env, h1, path),
  );
} else {
  h1ContainerdMissing("kubeletRuntime() files through SSH");
}

describe("kubeletRuntime() helper images", () => {
  test("a container without the file tools is refused, naming them and configImage", async () => {
    // An image without tar: a container of the test image whose PATH hides the tools is close enough.
    const id = await create(kubelet, "notools", {
      env: { PATH: "/nowhere" },
      entrypoint: ["/bin/sleep"],
      args: ["600"],
    });
    await kubelet.start(id);
    const result = await codeOf(kubelet.stat(id, ["/etc"]));
    expect(result.code).toBe("VALIDATION");
    expect(result.message).toContain('lacks "sh"');
    expect(result.message).toContain("configImage");
    await kubelet.remove(id, { force: true });
  }, 30_000);

  test("`create()` of a file helper runs `configImage` when it is set", async () => {
    const withHelperImage = kubeletRuntime({ address, configImage: cri.image }, { transport, hostLabel: "local" });
    try {
      const id = await withHelperImage.create(
        { name: `${RUN}-helper`, image: "berth-missing-image:1", entrypoint: ["sleep"], args: ["600"] },
        { labels: { [RUN_LABEL]: RUN, "berth.helper": "true" } },
      );
      expect((await withHelperImage.inspect(id))?.image).toBe(cri.image);
      await withHelperImage.remove(id, { force: true });
    } finally {
      await withHelperImage.close();
    }
  }, 30_000);
});

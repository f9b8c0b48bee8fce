import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { Duplex } from "node:stream";
import type { ContainerConfig } from "../../core/model.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { engineClient } from "../../runtimes/docker/engine-client.ts";
import { httpClient } from "../../transports/http/http-client.ts";
import { loadRuntime } from "../../runtimes/registry.ts";
import { directTransport } from "../../transports/direct.ts";
import type { Transport } from "../../transports/transport.ts";
import { dockerLocal, loadTestEnv, removeLocalContainers } from "../support/env.ts";
import { afterAll, beforeAll, describe, expect, test } from "../support/harness.ts";
import { codeOf } from "../support/errors.ts";

const env = loadTestEnv();
const RUN = `bdt-${Date.now().toString(36)}-${process.pid}`;
const RUN_LABEL = "berth.test-run";
const HOST = "local-test";
const transport = directTransport();
const docker = dockerRuntime({ host: `unix://${env.local.socket}` }, { transport, hostLabel: HOST });

/** A transport that counts the streams it opened. */
function countingTransport(inner: Transport): Transport & { opened: number } {
  const counting = {
    opened: 0,
    description: inner.description,
    connect: (o?: { signal?: AbortSignal }) => inner.connect(o),
    openUnixSocket: (path: string, o?: { signal?: AbortSignal }) => {
      counting.opened++;
      return inner.openUnixSocket(path, o);
    },
    openTcp: (host: string, port: number, o?: { signal?: AbortSignal }) => {
      counting.opened++;
      return inner.openTcp(host, port, o);
    },
    files: () => inner.files(),
    close: () => inner.close(),
  };
  return counting;
}

/** A transport whose streams are plain Duplex objects (not sockets), as SSH channels are. */
function plainStreamTransport(inner: Transport): Transport {
  const wrap = (socket: Duplex): Duplex => {
    const outer = new Duplex({
      read: () => void socket.resume(),
      write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
      final: (callback) => {
        socket.end();
        callback();
      },
      destroy: (err, callback) => {
        socket.destroy();
        callback(err);
      },
    });
    socket.on("data", (chunk: Buffer) => {
      if (!outer.push(chunk)) socket.pause();
    });
    socket.on("end", () => outer.push(null));
    socket.on("error", (err) => outer.destroy(err));
    return outer;
  };
  return {
    description: "plain-streams",
    connect: (o) => inner.connect(o),
    openUnixSocket: async (path, o) => wrap(await inner.openUnixSocket(path, o)),
    openTcp: async (host, port, o) => wrap(await inner.openTcp(host, port, o)),
    files: () => inner.files(),
    close: () => inner.close(),
  };
}

function config(suffix: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { name: `${RUN}-${suffix}`, image: env.image, init: true, networkMode: "none", ...extra };
}

function create(
  suffix: string,
  extra: Partial<ContainerConfig> = {},
  labels: Record<string, string> = {},
): Promise<string> {
  return docker.create(config(suffix, extra), { labels: { [RUN_LABEL]: RUN, ...labels } });
}

async function removeImage(name: string): Promise<void> {
  await dockerLocal(`/images/${name}?force=1`, { method: "DELETE" });
}

afterAll(async () => {
  await removeLocalContainers({ label: [`${RUN_LABEL}=${RUN}`] });
  await removeImage(env.registry.image);
  await removeImage(env.registry.authImage);
  await docker.close();
  await transport.close();
});

describe("dockerRuntime() containers", () => {
  test(
    "`create()`, `start()`, `status()`, `inspect()`, `stop()` and `remove()` drive a container through its life",
    async () => {
      const name = `${RUN}-life`;
      const id = await create("life", {}, { role: "life" });
      expect(await docker.status(id)).toEqual({ id, status: "created" });
      await docker.start(id);
      await docker.start(id); // already started: fine
      expect((await docker.status(id))?.status).toBe("running");
      const { env: processEnv, readBack, restartCount, startedAt, ...observed } = (await docker.inspect(name)) ?? {};
      // What the gates read: no restart yet, and when this run started.
      expect({ restartCount, started: /^\d{4}-\d{2}-\d{2}T/.test(startedAt ?? "") }).toEqual({
        restartCount: 0,
        started: true,
      });
      expect(observed).toEqual({
        id,
        status: "running",
        name,
        image: env.image,
        labels: { [RUN_LABEL]: RUN, role: "life" },
        // The settings the engine changes in place, as it reports them (the default restart policy here).
        settings: { restartPolicy: "unless-stopped" },
      });
      // The environment as the engine holds it (for drift of sensitive values).
      expect(processEnv?.some((line) => line.startsWith("PATH="))).toBe(true);
      // Its settings read back in config form, for `berth import`.
      expect({ ...readBack?.config, env: undefined }).toEqual({
        image: env.image,
        args: ["sleep", "1000000"],
        init: true,
        networkMode: "none",
        env: undefined,
      });
      await docker.stop(id, { timeoutSeconds: 5 });
      await docker.stop(id); // already stopped: fine
      expect((await docker.status(id))?.status).toBe("exited");
      await docker.remove(id);
      expect(await docker.status(id)).toBeUndefined();
      expect(await docker.inspect(name)).toBeUndefined();
    },
    30_000,
  );

  test("`list()` returns the containers carrying every given label", async () => {
    const a = await create("list-a", {}, { group: "a" });
    await create("list-b", {}, { group: "b" });
    const found = await docker.list({ [RUN_LABEL]: RUN, group: "a" });
    expect(found.map((c) => c.id)).toEqual([a]);
    expect(found[0]).toMatchObject({ name: `${RUN}-list-a`, status: "created", image: env.image });
    expect(await docker.list({ [RUN_LABEL]: RUN, group: "none" })).toEqual([]);
  });

  test("`listNamed()` returns exactly the containers holding the names asked (a dot matches only a dot)", async () => {
    const a = await create("named.a");
    const b = await create("named-b");
    await create("namedxa"); // what "named.a" matches as a pattern
    await create("named.a-more"); // a longer name containing it
    const found = await docker.listNamed?.([`${RUN}-named.a`, `${RUN}-named-b`, `${RUN}-named-none`]);
    expect(found?.map((c) => [c.name, c.id]).sort()).toEqual(
      [[`${RUN}-named-b`, b], [`${RUN}-named.a`, a]].sort(),
    );
  });

  test("`create()` passes every config option to the engine", async () => {
    const dir = mkdtempSync("/tmp/docker-helper-mount-");
    try {
      const id = await docker.create(
        {
          name: `${RUN}-options`,
          image: env.image,
          args: ["sleep", "60"],
          entrypoint: ["/bin/sh", "-c", 'exec "$@"', "--"],
          workingDir: "/tmp",
          env: { ZED: "last", ALPHA: "first" },
          user: "1000",
          group: "1001",
          ports: [{ ip: "127.0.0.1", port: 18080 }, { port: 18081, protocol: "udp" }],
          mounts: [{ source: `${dir}/`, target: "/data", propagation: "rslave" }, {
            source: "/etc/hostname",
            target: "/hn",
          }],
          privileged: true,
          init: true,
        },
        { labels: { [RUN_LABEL]: RUN, extra: "yes" }, restartPolicy: "always" },
      );
      const { body } = await dockerLocal(`/containers/${id}/json`);
      const info = body as {
        Config: {
          Cmd: string[];
          Entrypoint: string[];
          WorkingDir: string;
          Env: string[];
          User: string;
          ExposedPorts: object;
          Labels: Record<string, string>;
        };
        HostConfig: Record<string, unknown>;
        Mounts: Array<{ Source: string; Destination: string; Propagation: string }>;
      };
      expect(info.Config.Cmd).toEqual(["sleep", "60"]);
      expect(info.Config.Entrypoint).toEqual(["/bin/sh", "-c", 'exec "$@"', "--"]);
      expect(info.Config.WorkingDir).toBe("/tmp");
      expect(info.Config.Env.filter((e) => e === "ALPHA=first" || e === "ZED=last")).toEqual([
        "ALPHA=first",
        "ZED=last",
      ]);
      expect(info.Config.User).toBe("1000:1001");
      expect(info.Config.ExposedPorts).toEqual({ "18080/tcp": {}, "18081/udp": {} });
      expect(info.Config.Labels).toEqual({ [RUN_LABEL]: RUN, extra: "yes" });
      expect(info.HostConfig["PortBindings"]).toEqual({
        "18080/tcp": [{ HostIp: "127.0.0.1", HostPort: "18080" }],
        "18081/udp": [{ HostIp: "", HostPort: "18081" }],
      });
      expect(info.HostConfig["Privileged"]).toBe(true);
      expect(info.HostConfig["Init"]).toBe(true);
      expect(info.HostConfig["RestartPolicy"]).toEqual({ Name: "always", MaximumRetryCount: 0 });
      const mounts = info.Mounts.map((m) => [m.Source, m.Destination, m.Propagation]).sort();
      expect(mounts).toEqual([["/etc/hostname", "/hn", "rprivate"], [dir, "/data", "rslave"]].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("`create()` sets namespaces, the default restart policy and no init unless asked", async () => {
    const id = await docker.create(
      { name: `${RUN}-ns`, image: env.image, networkMode: "host", pidMode: "host", ipcMode: "host" },
      { labels: { [RUN_LABEL]: RUN } },
    );
    const { body } = await dockerLocal(`/containers/${id}/json`);
    const host = (body as { HostConfig: Record<string, unknown> }).HostConfig;
    expect([host["NetworkMode"], host["PidMode"], host["IpcMode"]]).toEqual(["host", "host", "host"]);
    expect(host["RestartPolicy"]).toEqual({ Name: "unless-stopped", MaximumRetryCount: 0 });
    expect(host["Init"] ?? null).toBeNull();
    expect(host["Privileged"]).toBe(false);
  });

  test("`create()` reports an unknown image as NOT_FOUND and a taken name as CONFLICT", async () => {
    const missing = await codeOf(docker.create(config("noimage", { image: "berth-no-such-image:1" })));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.message).toContain(`creating container "${RUN}-noimage" on host ${HOST}: No such image`);
    await create("dup");
    const dup = await codeOf(create("dup"));
    expect(dup.code).toBe("CONFLICT");
    expect(dup.message).toContain(`creating container "${RUN}-dup" on host ${HOST}: Conflict.`);
  });

  test("`remove()` refuses a running container unless forced", async () => {
    const id = await create("running");
    await docker.start(id);
    const refused = await codeOf(docker.remove(id));
    expect(refused.code).toBe("CONFLICT");
    expect(refused.message).toContain("removing container");
    await docker.remove(id, { force: true });
    expect(await docker.status(id)).toBeUndefined();
  });

  test("`logs()` returns stdout and stderr apart", async () => {
    const id = await docker.create(
      config("logs", { init: false, entrypoint: ["/bin/sh", "-c", "echo out; echo err >&2"] }),
      {
        labels: { [RUN_LABEL]: RUN },
        restartPolicy: "no",
      },
    );
    await docker.start(id);
    for (let i = 0; i < 50 && (await docker.status(id))?.status !== "exited"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await docker.logs?.(id)).toEqual({ stdout: "out\n", stderr: "err\n" });
  });
});

describe("dockerRuntime() images", () => {
  test("`ensureImage()` does nothing for a present image", async () => {
    const imageId = async () => ((await dockerLocal(`/images/${env.image}/json`)).body as { Id: string }).Id;
    const before = await imageId();
    const progress: string[] = [];
    const watching = dockerRuntime({ host: `unix://${env.local.socket}` }, {
      transport,
      hostLabel: HOST,
      onProgress: (_, p) => progress.push(p.status ?? ""),
    });
    const since = Math.floor(Date.now() / 1000) - 1;
    try {
      await watching.ensureImage(env.image);
    } finally {
      await watching.close();
    }
    const until = Math.floor(Date.now() / 1000) + 1;
    expect(progress).toEqual([]);
    expect(await imageId()).toBe(before);
    // The engine's own event log: no pull of any image in the meantime.
    const filters = encodeURIComponent(JSON.stringify({ type: ["image"], event: ["pull"] }));
    const { body } = await dockerLocal(`/events?since=${since}&until=${until}&filters=${filters}`);
    expect(body).toBe("");
  });

  test("`ensureImage()` pulls a missing image and reports progress", async () => {
    await removeImage(env.registry.image);
    const progress: string[] = [];
    const pulling = dockerRuntime({ host: `unix://${env.local.socket}` }, {
      transport,
      hostLabel: HOST,
      onProgress: (_, p) => progress.push(p.status ?? ""),
    });
    try {
      await pulling.ensureImage(env.registry.image);
    } finally {
      await pulling.close();
    }
    expect((await dockerLocal(`/images/${env.registry.image}/json`)).status).toBe(200);
    expect(progress.some((s) => s.startsWith("Status:"))).toBe(true);
  }, 60_000);

  test("`ensureImage()` pulls with the registry credentials and refuses a wrong password clearly", async () => {
    await removeImage(env.registry.authImage);
    const withAuth = (password: string) =>
      dockerRuntime(
        {
          host: `unix://${env.local.socket}`,
          registryAuth: { [env.registry.authAddress]: { username: env.registry.username, password } },
        },
        { transport, hostLabel: HOST },
      );
    const wrong = withAuth("wrong-password");
    const refused = await codeOf(wrong.ensureImage(env.registry.authImage));
    await wrong.close();
    expect(refused.code).toBe("IMAGE_PULL");
    expect(refused.message).toContain("registry refused the credentials");
    const noAuth = await codeOf(docker.ensureImage(env.registry.authImage));
    expect(noAuth.code).toBe("IMAGE_PULL");
    const right = withAuth(env.registry.password);
    try {
      await right.ensureImage(env.registry.authImage);
    } finally {
      await right.close();
    }
    expect((await dockerLocal(`/images/${env.registry.authImage}/json`)).status).toBe(200);
  }, 60_000);

  test("`ensureImage()` reports an image the registry does not have as IMAGE_PULL", async () => {
    const missing = await codeOf(docker.ensureImage(`${env.registry.address}/berth/no-such-image:1`));
    expect(missing.code).toBe("IMAGE_PULL");
    expect(missing.message).toContain("no-such-image");
  }, 60_000);
});

describe("dockerRuntime() files", () => {
  let id = "";
  beforeAll(async () => {
    id = await create("files");
  });

  test("`writeFiles()` and `readFiles()` round-trip every byte value, mode, uid and gid", async () => {
    const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    await docker.writeFiles(id, [
      { path: "/etc/berth/deep/all.bin", content: all, mode: 0o640, uid: 1234, gid: 5678 },
      { path: "/etc/berth/text.conf", content: "héllo\n" },
    ]);
    const read = await docker.readFiles(id, ["/etc/berth/deep/all.bin", "/etc/berth/text.conf", "/etc/berth/missing"]);
    expect(read.map((f) => f.path)).toEqual(["/etc/berth/deep/all.bin", "/etc/berth/text.conf"]);
    expect(Buffer.from(read[0]?.content ?? []).equals(Buffer.from(all))).toBe(true);
    expect([read[0]?.mode, read[0]?.uid, read[0]?.gid]).toEqual([0o640, 1234, 5678]);
    expect(new TextDecoder().decode(read[1]?.content)).toBe("héllo\n");
    expect([read[1]?.mode, read[1]?.uid, read[1]?.gid]).toEqual([0o600, 0, 0]);
    const [parent] = await docker.stat(id, ["/etc/berth/deep"]);
    expect(parent).toMatchObject({ isDirectory: true, mode: 0o755 });
  });

  test("`writeFiles()` and `readFiles()` stream a 20 MiB file byte for byte", async () => {
    const big = randomBytes(20 * 1024 * 1024);
    await docker.writeFiles(id, [{ path: "/big/file.bin", content: big, mode: 0o600 }]);
    const [read] = await docker.readFiles(id, ["/big/file.bin"]);
    expect(read?.content.length).toBe(big.length);
    expect(Buffer.from(read?.content ?? []).equals(big)).toBe(true);
  }, 60_000);

  test("`stat()` reports directories, modes with special bits, symlinks and leaves out missing paths", async () => {
    await docker.mkdir(id, ["/sticky"], { mode: 0o1777 });
    const infos = await docker.stat(id, ["/sticky", "/bin/cat", "/bin/busybox", "/nope"]);
    expect(infos.map((i) => i.path)).toEqual(["/sticky", "/bin/cat", "/bin/busybox"]);
    expect(infos[0]).toMatchObject({ isDirectory: true, isSymlink: false, mode: 0o1777 });
    expect(infos[1]).toMatchObject({ isDirectory: false, isSymlink: true });
    expect(infos[2]).toMatchObject({ isDirectory: false, isSymlink: false, mode: 0o755 });
    expect(infos[2]?.size).toBeGreaterThan(100_000);
  });

  test("`readFiles()` refuses a symlink and a directory", async () => {
    expect((await codeOf(docker.readFiles(id, ["/bin/cat"]))).code).toBe("UNSAFE_PATH");
    expect((await codeOf(docker.readFiles(id, ["/etc"]))).code).toBe("BAD_PARAMETER");
  });

  test("`writeFiles()` refuses relative paths and paths with ..", async () => {
    expect((await codeOf(docker.writeFiles(id, [{ path: "etc/x", content: "" }]))).code).toBe("UNSAFE_PATH");
    expect((await codeOf(docker.writeFiles(id, [{ path: "/etc/../x", content: "" }]))).code).toBe("UNSAFE_PATH");
  });

  test("`mkdir()` creates missing directories with the mode and leaves existing ones alone", async () => {
    await docker.mkdir(id, ["/keep"], { mode: 0o711 });
    await docker.mkdir(id, ["/srv/a/b", "/keep"], { mode: 0o750 });
    const infos = await docker.stat(id, ["/srv/a/b", "/srv/a", "/keep"]);
    expect(infos.map((i) => [i.path, i.isDirectory, i.mode])).toEqual([["/srv/a/b", true, 0o750], [
      "/srv/a",
      true,
      0o755,
    ], ["/keep", true, 0o711]]);
    await docker.mkdir(id, ["/srv/c"]);
    expect((await docker.stat(id, ["/srv/c"]))[0]?.mode).toBe(0o700);
    expect((await codeOf(docker.mkdir(id, ["/bin/busybox"]))).code).toBe("CONFLICT");
  });

  test("file operations on a missing container fail with NOT_FOUND", async () => {
    expect((await codeOf(docker.writeFiles("berth-no-such-container", [{ path: "/x", content: "x" }]))).code).toBe(
      "NOT_FOUND",
    );
    expect((await codeOf(docker.readFiles("berth-no-such-container", ["/x"]))).code).toBe("NOT_FOUND");
    expect((await codeOf(docker.stat("berth-no-such-container", ["/x"]))).code).toBe("NOT_FOUND");
  });
});

describe("dockerRuntime() connections", () => {
  test("`dockerRuntime()` reuses one connection for 20 sequential requests", async () => {
    const counting = countingTransport(transport);
    const runtime = dockerRuntime({ host: `unix://${env.local.socket}` }, { transport: counting, hostLabel: HOST });
    try {
      for (let i = 0; i < 20; i++) expect(await runtime.inspect(`${RUN}-keepalive-${i}`)).toBeUndefined();
      await runtime.list({ [RUN_LABEL]: RUN });
    } finally {
      await runtime.close();
    }
    expect(counting.opened).toBe(1);
  });

  test("`dockerRuntime()` streams files and keeps connections alive over plain duplex streams", async () => {
    const counting = countingTransport(plainStreamTransport(transport));
    const runtime = dockerRuntime({ host: `unix://${env.local.socket}` }, { transport: counting, hostLabel: HOST });
    try {
      const id = await runtime.create(config("plain-stream"), { labels: { [RUN_LABEL]: RUN } });
      const big = randomBytes(4 * 1024 * 1024);
      await runtime.writeFiles(id, [{ path: "/x/big.bin", content: big }]);
      const [read] = await runtime.readFiles(id, ["/x/big.bin"]);
      expect(Buffer.from(read?.content ?? []).equals(big)).toBe(true);
      await runtime.remove(id, { force: true });
    } finally {
      await runtime.close();
    }
    expect(counting.opened).toBe(1);
  }, 30_000);

  test("`stop()` is cancelled by its AbortSignal while the engine is still waiting", async () => {
    // No init: busybox sleep as PID 1 ignores SIGTERM, so the engine waits the full timeout.
    const id = await create("abort", { init: false, args: ["sleep", "300"] });
    await docker.start(id);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    const result = await codeOf(docker.stop(id, { timeoutSeconds: 30, signal: controller.signal }));
    // When the stop ends on its own, what the engine says of the container is in the failure (seen once on Node
    // in the test command: the stop resolved ~0.2 s after the start, and could not be made to happen again).
    const seen = result.code === "ABORTED" ? undefined : (await dockerLocal(`/containers/${id}/json`)).body;
    expect({ code: result.code, seen }).toEqual({ code: "ABORTED", seen: undefined });
    expect(Date.now() - started).toBeLessThan(5_000);
    const preAborted = await codeOf(docker.status(id, { signal: AbortSignal.abort() }));
    expect(preAborted.code).toBe("ABORTED");
    expect((await docker.status(id))?.status).toBe("running");
    await docker.remove(id, { force: true });
  }, 20_000);

  test("`engineClient()` negotiates the lower of the engine's API version and 1.45", async () => {
    const http = httpClient({
      connect: ({ signal }) => transport.openUnixSocket(env.local.socket, { signal }),
      hostHeader: "docker",
      description: "test engine",
    });
    try {
      const { body } = await dockerLocal("/version");
      const engineVersion = (body as { ApiVersion: string }).ApiVersion;
      const expected = Number(engineVersion.split(".")[1]) < 45 ? engineVersion : "1.45";
      expect(await engineClient(http, HOST).apiVersion()).toBe(expected);
    } finally {
      await http.close();
    }
  });

  test("`dockerRuntime()` reports an unreachable engine as CONNECT naming the socket", async () => {
    const runtime = dockerRuntime({ host: "unix:///tmp/berth-no-such-dir/docker.sock" }, {
      transport,
      hostLabel: HOST,
    });
    const result = await codeOf(runtime.status("x"));
    await runtime.close();
    expect(result.code).toBe("CONNECT");
    expect(result.message).toContain("/tmp/berth-no-such-dir/docker.sock");
  });

  test("`loadRuntime()` loads the docker plugin named by the config", async () => {
    const runtime = await loadRuntime({ docker: { host: `unix://${env.local.socket}` } }, {
      transport,
      hostLabel: HOST,
    });
    try {
      expect(runtime.filesNeedRunningContainer).toBe(false);
      expect(await runtime.status(`${RUN}-absent`)).toBeUndefined();
    } finally {
      await runtime.close();
    }
    expect((await codeOf(loadRuntime({}, { transport, hostLabel: HOST }))).code).toBe("VALIDATION");
  });
});

describe("dockerRuntime() over tcp:// with TLS", () => {
  const dir = `/tmp/docker-helper-tls-${process.pid}`;
  let port = 0;
  let pid: number | undefined;

  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca-key.pem",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=berth-test-ca",
    );
    for (
      const [who, ext] of [["server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"], [
        "client",
        "extendedKeyUsage=clientAuth\n",
      ]] as const
    ) {
      execFileSync("sh", ["-c", `printf '${ext}' > ${who}.ext`], { cwd: dir });
      openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${who}-key.pem`,
        "-out",
        `${who}.csr`,
        "-subj",
        `/CN=${who}`,
      );
      openssl(
        "x509",
        "-req",
        "-in",
        `${who}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        `${who}-cert.pem`,
        "-days",
        "2",
        "-extfile",
        `${who}.ext`,
      );
    }
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "other-key.pem",
      "-out",
      "other-ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=other-ca",
    );
    port = 23000 + (process.pid % 2000);
    const daemon = spawn(
      "dockerd",
      [
        "--data-root",
        `${dir}/data`,
        "--exec-root",
        `${dir}/exec`,
        "--pidfile",
        `${dir}/dockerd.pid`,
        "-H",
        `tcp://127.0.0.1:${port}`,
        "--tlsverify",
        "--tlscacert",
        `${dir}/ca.pem`,
        "--tlscert",
        `${dir}/server-cert.pem`,
        "--tlskey",
        `${dir}/server-key.pem`,
        "--iptables=false",
        "--bridge=none",
        "--shutdown-timeout",
        "2",
      ],
      { stdio: "ignore", detached: true },
    );
    pid = daemon.pid;
    daemon.unref();
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s: Duplex = connect({ host: "127.0.0.1", port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dockerd with TLS did not listen on 127.0.0.1:${port}; see ${dir}`);
  }, 30_000);

  afterAll(async () => {
    if (pid !== undefined) {
      process.kill(pid, "SIGTERM");
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const mounts = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) =>
      m.startsWith(`${dir}/`)
    );
    for (const m of mounts.reverse()) execFileSync("umount", ["-l", m]);
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  const tls = (ca: string) => ({ ca: `${dir}/${ca}`, cert: `${dir}/client-cert.pem`, key: `${dir}/client-key.pem` });

  test("`dockerRuntime()` speaks to an engine over tcp:// with verified TLS and client certificates", async () => {
    const counting = countingTransport(transport);
    const runtime = dockerRuntime({ host: `tcp://127.0.0.1:${port}`, tls: tls("ca.pem") }, {
      transport: counting,
      hostLabel: "tls-engine",
    });
    try {
      expect(await runtime.list({ [RUN_LABEL]: RUN })).toEqual([]);
      expect(await runtime.inspect("berth-nothing")).toBeUndefined();
    } finally {
      await runtime.close();
    }
    expect(counting.opened).toBe(1);
  });

  test("`dockerRuntime()` runs TLS and keep-alive over plain duplex streams such as SSH channels", async () => {
    const counting = countingTransport(plainStreamTransport(transport));
    const runtime = dockerRuntime({ host: `tcp://127.0.0.1:${port}`, tls: tls("ca.pem") }, {
      transport: counting,
      hostLabel: "tls-engine",
    });
    try {
      for (let i = 0; i < 5; i++) expect(await runtime.inspect(`berth-nothing-${i}`)).toBeUndefined();
    } finally {
      await runtime.close();
    }
    expect(counting.opened).toBe(1);
  });

  test("`dockerRuntime()` refuses an engine whose certificate the CA did not sign", async () => {
    const runtime = dockerRuntime({ host: `tcp://127.0.0.1:${port}`, tls: tls("other-ca.pem") }, {
      transport,
      hostLabel: "tls-engine",
    });
    const result = await codeOf(runtime.list({}));
    await runtime.close();
    expect(result.code).toBe("CONNECT");
    expect(result.message).toContain("TLS handshake");
  });
});

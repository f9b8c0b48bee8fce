import { BerthError } from "../../core/errors.ts";
import { decodePathStat, readSingleFile } from "../../runtimes/docker/archive.ts";
import { packEntries, relativeToRoot } from "../../runtimes/tar.ts";
import { createBody } from "../../runtimes/docker/create-body.ts";
import { resolveEndpoint } from "../../runtimes/docker/endpoint.ts";
import { consumePullStream, registryAuthHeader } from "../../runtimes/docker/image.ts";
import { parseImageReference } from "../../runtimes/image-reference.ts";
import { demultiplexLogs } from "../../runtimes/docker/logs.ts";
import * as tar from "tar-stream";
import { describe, expect, test } from "../support/harness.ts";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof BerthError ? err.code : String(err);
  }
  return "resolved";
}

async function* lines(...texts: string[]): AsyncGenerator<Uint8Array> {
  for (const t of texts) yield new TextEncoder().encode(t);
}

describe("docker plugin parts", () => {
  test("`parseImageReference()` splits registry, repository and tag like the docker CLI", () => {
    expect(parseImageReference("busybox")).toEqual({ registry: "docker.io", repository: "busybox", tag: "latest" });
    expect(parseImageReference("library/busybox:1.36")).toEqual({
      registry: "docker.io",
      repository: "library/busybox",
      tag: "1.36",
    });
    expect(parseImageReference("quay.io/coreos/etcd:v3.5")).toEqual({
      registry: "quay.io",
      repository: "quay.io/coreos/etcd",
      tag: "v3.5",
    });
    expect(parseImageReference("127.0.0.1:5000/app")).toEqual({
      registry: "127.0.0.1:5000",
      repository: "127.0.0.1:5000/app",
      tag: "latest",
    });
    expect(parseImageReference("localhost/app@sha256:abc")).toEqual({
      registry: "localhost",
      repository: "localhost/app",
      tag: "sha256:abc",
    });
  });

  test("`registryAuthHeader()` encodes credentials for the image's registry only", () => {
    const auth = { "127.0.0.1:5001": { username: "u", password: "p" } };
    const header = registryAuthHeader("127.0.0.1:5001", auth) ?? "";
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({
      username: "u",
      password: "p",
      serveraddress: "127.0.0.1:5001",
    });
    expect(registryAuthHeader("docker.io", auth)).toBeUndefined();
  });

  test("`consumePullStream()` reports progress and turns an in-stream error into IMAGE_PULL", async () => {
    const seen: string[] = [];
    await consumePullStream(
      lines('{"status":"Pulling"}\n{"status":"Do', 'ne"}\n'),
      "pulling",
      (p) => seen.push(p.status ?? ""),
    );
    expect(seen).toEqual(["Pulling", "Done"]);
    expect(
      await codeOf(
        consumePullStream(
          lines('{"status":"a"}\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n'),
          "pulling",
        ),
      ),
    ).toBe("IMAGE_PULL");
  });

  test("`createBody()` sorts env, joins user and group, strips a directory mount's trailing slash", () => {
    const body = createBody(
      {
        name: "x",
        image: "i",
        env: { B: "2", A: "1" },
        group: "10",
        mounts: [{ source: "/var/lib/x/", target: "/x", propagation: "rshared" }, { source: "/", target: "/host" }],
      },
      { labels: { l: "v" } },
    );
    expect(body.Env).toEqual(["A=1", "B=2"]);
    expect(body.User).toBe("0:10");
    expect(body.HostConfig.Mounts).toEqual([
      { Type: "bind", Source: "/var/lib/x", Target: "/x", BindOptions: { Propagation: "rshared" } },
      { Type: "bind", Source: "/", Target: "/host" },
    ]);
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: "unless-stopped" });
    expect(body.Labels).toEqual({ l: "v" });
  });

  test("`resolveEndpoint()` follows DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH only when the config is silent", () => {
    expect(resolveEndpoint({}, {})).toEqual({ kind: "unix", path: "/var/run/docker.sock" });
    expect(resolveEndpoint({}, { DOCKER_HOST: "tcp://h:1234", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/c" }))
      .toEqual({
        kind: "tcp",
        host: "h",
        port: 1234,
        tls: { ca: "/c/ca.pem", cert: "/c/cert.pem", key: "/c/key.pem", verify: true },
      });
    expect(resolveEndpoint({ host: "tcp://h" }, { DOCKER_TLS_VERIFY: "1" })).toEqual({
      kind: "tcp",
      host: "h",
      port: 2375,
    });
    expect(resolveEndpoint({ host: "tcp://[::1]", tls: { verify: false } }, {})).toEqual({
      kind: "tcp",
      host: "::1",
      port: 2376,
      tls: { verify: false },
    });
    expect(() => resolveEndpoint({ host: "ssh://h" }, {})).toThrow("use unix:///path or tcp://host:port");
  });

  test("`decodePathStat()` converts Go file modes", () => {
    const header = (mode: number) => Buffer.from(JSON.stringify({ name: "x", size: 3, mode })).toString("base64");
    expect(decodePathStat("/d", header(2 ** 31 + 0o755))).toEqual({
      path: "/d",
      mode: 0o755,
      isDirectory: true,
      isSymlink: false,
      size: 3,
    });
    expect(decodePathStat("/l", header(2 ** 27 + 0o777))).toMatchObject({
      isSymlink: true,
      isDirectory: false,
      mode: 0o777,
    });
    expect(decodePathStat("/s", header(2 ** 23 + 2 ** 22 + 0o755)).mode).toBe(0o6755);
  });

  test("`packEntries()` output reads back with `readSingleFile()`", async () => {
    const chunks: Uint8Array[] = [];
    for await (
      const c of packEntries([], [{
        path: "/a/b.bin",
        content: new Uint8Array([0, 255, 7]),
        mode: 0o644,
        uid: 3,
        gid: 4,
      }])
    ) chunks.push(c);
    async function* once() {
      yield Buffer.concat(chunks);
    }
    expect(await readSingleFile(once(), "/a/b.bin")).toEqual({
      content: new Uint8Array([0, 255, 7]),
      mode: 0o644,
      uid: 3,
      gid: 4,
    });
    expect(() => relativeToRoot("/a/../b")).toThrow('path "/a/../b" must be absolute');
  });

  test("`readSingleFile()` refuses entries that escape or are links", async () => {
    async function archive(header: tar.Header | { name: string; type: "symlink"; linkname: string }) {
      const pack = tar.pack();
      pack.entry(header, "");
      pack.finalize();
      const parts: Uint8Array[] = [];
      for await (const c of pack as AsyncIterable<Uint8Array>) parts.push(c);
      return (async function* () {
        yield Buffer.concat(parts);
      })();
    }
    expect(await codeOf(readSingleFile(await archive({ name: "../x", size: 0 } as tar.Header), "/x"))).toBe(
      "UNSAFE_PATH",
    );
    expect(await codeOf(readSingleFile(await archive({ name: "x", type: "symlink", linkname: "/etc/shadow" }), "/x")))
      .toBe("UNSAFE_PATH");
  });

  test("`demultiplexLogs()` splits frames by stream and passes TTY output through", () => {
    const frame = (kind: number, text: string) => {
      const payload = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = kind;
      head.writeUInt32BE(payload.length, 4);
      return Buffer.concat([head, payload]);
    };
    expect(demultiplexLogs(Buffer.concat([frame(1, "a"), frame(2, "b"), frame(1, "c")]))).toEqual({
      stdout: "ac",
      stderr: "b",
    });
    expect(demultiplexLogs(Buffer.from("plain tty text"))).toEqual({ stdout: "plain tty text", stderr: "" });
  });
});

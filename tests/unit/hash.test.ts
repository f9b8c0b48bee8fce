import { describe, expect, test } from "../support/harness.ts";
import { canonicalConfig, canonicalImage, configHash } from "../../core/hash.ts";
import { hostKey } from "../../core/host.ts";
import type { ContainerConfig } from "../../core/model.ts";

const base: ContainerConfig = {
  name: "etcd",
  image: "quay.io/coreos/etcd:v3.5.9",
  args: ["--name", "etcd"],
  ports: [{ port: 2379 }, { port: 2380, ip: "10.0.0.1", protocol: "udp" }],
  mounts: [{ source: "/var/lib/etcd/", target: "/var/lib/etcd" }, {
    source: "/etc/etcd/",
    target: "/etc/etcd",
    propagation: "rshared",
  }],
  env: { A: "1", B: "2" },
  networkMode: "host",
};

describe("configHash()", () => {
  test("configHash() is a sha256 hex digest", () => {
    expect(configHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  test("configHash() is stable across key order", () => {
    const reordered: ContainerConfig = {
      networkMode: "host",
      env: { B: "2", A: "1" },
      mounts: [{ target: "/etc/etcd", propagation: "rshared", source: "/etc/etcd/" }, {
        target: "/var/lib/etcd",
        source: "/var/lib/etcd/",
      }],
      ports: [{ protocol: "udp", ip: "10.0.0.1", port: 2380 }, { port: 2379 }],
      args: ["--name", "etcd"],
      image: "quay.io/coreos/etcd:v3.5.9",
      name: "etcd",
    };
    expect(configHash(reordered)).toBe(configHash(base));
  });

  test("configHash() treats default-equal forms as equal", () => {
    const explicit: ContainerConfig = {
      ...base,
      entrypoint: [],
      ports: [{ port: 2379, protocol: "tcp", ip: "" }, { port: 2380, ip: "10.0.0.1", protocol: "udp" }],
      mounts: [{ source: "/var/lib/etcd/", target: "/var/lib/etcd", propagation: "rprivate" }, {
        source: "/etc/etcd/",
        target: "/etc/etcd",
        propagation: "rshared",
      }],
      privileged: false,
      init: false,
      pidMode: "",
      user: "",
    };
    expect(configHash(explicit)).toBe(configHash(base));
    expect(configHash({ name: "a", image: "docker.io/library/busybox:latest", env: {} })).toBe(
      configHash({ name: "a", image: "busybox" }),
    );
    expect(configHash(base, { docker: { host: "unix:///var/run/docker.sock" } })).toBe(configHash(base));
  });

  test("configHash() leaves out registry credentials and TLS paths", () => {
    const withAuth = configHash(base, {
      docker: { registryAuth: { "quay.io": { username: "u", password: "p" } }, tls: { ca: "/ca.pem" } },
    });
    expect(withAuth).toBe(configHash(base));
  });

  test("configHash() changes with real changes", () => {
    const variants: ContainerConfig[] = [
      { ...base, name: "etcd2" },
      { ...base, image: "quay.io/coreos/etcd:v3.5.10" },
      { ...base, args: ["etcd", "--name"] },
      { ...base, entrypoint: ["/bin/sh"] },
      { ...base, ports: [{ port: 2379 }] },
      { ...base, ports: [{ port: 2379, protocol: "udp" }, { port: 2380, ip: "10.0.0.1", protocol: "udp" }] },
      { ...base, mounts: [] },
      { ...base, privileged: true },
      { ...base, init: true },
      { ...base, networkMode: "bridge" },
      { ...base, pidMode: "host" },
      { ...base, ipcMode: "host" },
      { ...base, user: "1000" },
      { ...base, group: "1000" },
      { ...base, env: { A: "1", B: "3" } },
    ];
    const hashes = new Set([configHash(base), ...variants.map((v) => configHash(v))]);
    expect(hashes.size).toBe(variants.length + 1);
    expect(configHash(base, { docker: { host: "tcp://10.0.0.1:2375" } })).not.toBe(configHash(base));
  });
});

describe("canonicalConfig()", () => {
  test("canonicalConfig() drops defaults and sorts sets", () => {
    const canonical = canonicalConfig({
      name: "a",
      image: "busybox:latest",
      args: [],
      privileged: false,
      env: { B: "2", A: "1" },
      ports: [{ port: 90 }, { port: 80, protocol: "tcp" }],
    });
    expect(JSON.stringify(canonical)).toBe(
      '{"name":"a","image":"busybox","ports":[{"port":80},{"port":90}],"env":{"A":"1","B":"2"}}',
    );
  });
});

describe("canonicalImage()", () => {
  test("canonicalImage() shortens Docker Hub names and drops :latest", () => {
    expect(canonicalImage("docker.io/library/busybox:latest")).toBe("busybox");
    expect(canonicalImage("docker.io/bitnami/etcd:3.5")).toBe("bitnami/etcd:3.5");
    expect(canonicalImage("quay.io/x:latest")).toBe("quay.io/x");
    expect(canonicalImage(`busybox:latest@sha256:${"a".repeat(64)}`)).toBe(`busybox:latest@sha256:${"a".repeat(64)}`);
  });
});

describe("hostKey()", () => {
  test("hostKey() names the machine, not how berth logs in", () => {
    expect(hostKey({ directConfig: {} })).toBe("direct");
    expect(hostKey({ sshConfig: { address: "h", port: 22, user: "a" } })).toBe(
      hostKey({ sshConfig: { address: "h", user: "b", password: "x" } }),
    );
    expect(hostKey({ sshConfig: { address: "fd00::1", port: 2222 } })).toBe("ssh:fd00::1");
  });
});

// Hashes and state text computed by berth before the field table (commit a9a05d2): a container
// deployed by that version must hash the same now, or every apply would recreate it.
import { describe, expect, test } from "../support/harness.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainerConfig, RuntimeConfig } from "../../core/model.ts";
import { stateToYaml } from "../../core/serialize.ts";

const EVERY_FIELD: ContainerConfig = {
  name: "etcd",
  image: "quay.io/coreos/etcd:v3.5.9",
  args: ["--name", "etcd"],
  entrypoint: ["/usr/local/bin/etcd"],
  ports: [{ port: 2380, ip: "10.0.0.1", protocol: "udp" }, { port: 2379, protocol: "tcp", ip: "" }],
  mounts: [
    { source: "/var/lib/etcd/", target: "/var/lib/etcd", propagation: "rprivate" },
    { source: "/etc/etcd/", target: "/etc/etcd", propagation: "rshared" },
  ],
  privileged: true,
  networkMode: "host",
  pidMode: "host",
  ipcMode: "host",
  user: "1000",
  group: "100",
  env: { B: "2", A: "1" },
  init: true,
};

const PINNED: Array<[string, ContainerConfig, RuntimeConfig | undefined, string]> = [
  [
    "minimal",
    { name: "a", image: "busybox" },
    undefined,
    "bac56f9046c7aa98eb150aa98e7378139d1b3cedb3f485c920dc87fb9fc5a8a3",
  ],
  [
    "Docker Hub long form",
    { name: "a", image: "docker.io/library/busybox:latest" },
    undefined,
    "bac56f9046c7aa98eb150aa98e7378139d1b3cedb3f485c920dc87fb9fc5a8a3",
  ],
  ["every field", EVERY_FIELD, undefined, "fab4bb6b1dcd4a3399ee7dbaf73092789cee38cb6de066baaf48517c7f14ee39"],
  [
    "defaults spelled out",
    {
      name: "a",
      image: "busybox:latest",
      args: [],
      entrypoint: [],
      ports: [],
      mounts: [],
      privileged: false,
      networkMode: "default",
      pidMode: "",
      ipcMode: "",
      user: "",
      group: "",
      env: {},
      init: false,
    },
    undefined,
    "bac56f9046c7aa98eb150aa98e7378139d1b3cedb3f485c920dc87fb9fc5a8a3",
  ],
  [
    "kubelet runtime",
    { name: "k", image: "busybox:1.36", networkMode: "host" },
    { kubelet: {} },
    "f17bb2df59466e77b6e53aea4f8eea3921cb3f6c91193c9dafc51841e39b40ee",
  ],
  [
    "docker over tcp with credentials",
    { name: "d", image: "nginx:1.25", ports: [{ port: 80 }] },
    { docker: { host: "tcp://10.0.0.1:2375", registryAuth: { "docker.io": { username: "u", password: "p" } } } },
    "599b9cdbc8caa991133d11e5299f2181a7473f8ba2f6bb9f9977b61343b748de",
  ],
];

const PINNED_STATE = `version: 1
containers:
  etcd:
    container:
      config:
        name: etcd
        image: quay.io/coreos/etcd:v3.5.9
        args:
          - --name
          - etcd
        entrypoint:
          - /usr/local/bin/etcd
        ports:
          - ip: 10.0.0.1
            port: 2380
            protocol: udp
        mounts:
          - source: /etc/etcd/
            target: /etc/etcd
            propagation: rshared
        privileged: true
        networkMode: host
        pidMode: host
        ipcMode: host
        user: "1000"
        group: "100"
        env:
          A: "1"
          B: "2"
        init: true
      status:
        id: abc
        status: running
      runtime:
        docker:
          host: unix:///var/run/docker.sock
    host:
      sshConfig:
        address: 10.0.0.2
        port: 22
        user: root
`;

describe("hashes pinned from the previous version", () => {
  for (const [title, config, runtime, hash] of PINNED) {
    test(`configHash() of ${title} is the one the previous version recorded`, () => {
      expect(configHash(config, runtime)).toBe(hash);
    });
  }

  test("stateToYaml() writes fields in the order the previous version wrote them", () => {
    // Keys given in reverse order: the output order comes from the serialiser, not the input.
    const config = Object.fromEntries(
      Object.entries({ ...EVERY_FIELD, ports: [EVERY_FIELD.ports?.[0]], mounts: [EVERY_FIELD.mounts?.[1]] }).reverse(),
    ) as unknown as ContainerConfig;
    const yaml = stateToYaml({
      etcd: {
        container: {
          config,
          status: { status: "running", id: "abc" },
          runtime: { docker: { host: "unix:///var/run/docker.sock" } },
        },
        host: { sshConfig: { address: "10.0.0.2", user: "root", port: 22, password: "x" } },
      },
    });
    expect(yaml).toBe(PINNED_STATE);
  });
});

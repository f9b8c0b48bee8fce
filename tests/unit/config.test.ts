import { describe, expect, test } from "../support/harness.ts";
import { problemsOf } from "../support/errors.ts";
import { configFromDocument } from "../../core/config.ts";
import { parseDocument } from "../../core/serialize.ts";

const CONFIG = `
ssh:
  user: core
  privateKeyPath: ~/.ssh/id_ed25519
  connectionTimeout: 10s
hosts:
  local: { direct: {} }
  node1: { ssh: { address: 198.18.0.11 } }
  node2: { ssh: { address: 198.18.0.12, user: admin, privateKeyPath: keys/node2 } }
  node3: { ssh: { address: 198.18.1.13, jump: [ { address: 198.18.0.10, port: 2222 } ] } }
runtime:
  docker: { host: unix:///var/run/docker.sock }
containers:
  etcd:
    host: node1
    image: quay.io/coreos/etcd:v3.5.9
    args: [--name, etcd]
    env: { ETCD_DATA_DIR: /var/lib/etcd }
    ports: [ { port: 2379, ip: 0.0.0.0 } ]
    mounts: [ { source: /var/lib/etcd/, target: /var/lib/etcd } ]
    networkMode: host
    init: true
    configFiles:
      /etc/etcd/etcd.conf: |
        name: etcd
  web:
    name: web-1
    host: local
    image: nginx:1.25
    runtime: { docker: { registryAuth: { docker.io: { username: me, password: "\${env:REGISTRY_PASSWORD}" } } } }
  far:
    host: node3
    image: busybox
`;

const ENV = { HOME: "/home/op", REGISTRY_PASSWORD: "hunter2" };

function load(text: string, env: Record<string, string> = ENV) {
  return configFromDocument(parseDocument(text, "config.yaml"), "config.yaml", { env, baseDir: "/srv/berth" });
}

describe("configFromDocument()", () => {
  test("configFromDocument() reads berth's format into host-configured containers", () => {
    const { desiredState } = load(CONFIG);
    expect(Object.keys(desiredState)).toEqual(["etcd", "web", "far"]);
    expect(desiredState["etcd"]).toEqual({
      container: {
        config: {
          name: "etcd",
          image: "quay.io/coreos/etcd:v3.5.9",
          args: ["--name", "etcd"],
          ports: [{ port: 2379, ip: "0.0.0.0" }],
          mounts: [{ source: "/var/lib/etcd/", target: "/var/lib/etcd" }],
          networkMode: "host",
          env: { ETCD_DATA_DIR: "/var/lib/etcd" },
          init: true,
        },
        runtime: { docker: { host: "unix:///var/run/docker.sock" } },
      },
      host: {
        sshConfig: {
          user: "core",
          privateKeyPath: "/home/op/.ssh/id_ed25519",
          connectionTimeout: "10s",
          address: "198.18.0.11",
        },
      },
      configFiles: { "/etc/etcd/etcd.conf": "name: etcd\n" },
    });
  });

  test("configFromDocument() uses name: over the key and merges runtimes", () => {
    const web = load(CONFIG).desiredState["web"];
    expect(web?.container.config.name).toBe("web-1");
    expect(web?.host).toEqual({ directConfig: {} });
    expect(web?.container.runtime).toEqual({
      docker: {
        host: "unix:///var/run/docker.sock",
        registryAuth: { "docker.io": { username: "me", password: "hunter2" } },
      },
    });
  });

  test("configFromDocument() merges ssh defaults into hosts and bastions", () => {
    const { desiredState } = load(CONFIG);
    const far = desiredState["far"]?.host.sshConfig;
    expect(far?.address).toBe("198.18.1.13");
    expect(far?.user).toBe("core");
    expect(far?.jump).toEqual([{
      user: "core",
      privateKeyPath: "/home/op/.ssh/id_ed25519",
      connectionTimeout: "10s",
      address: "198.18.0.10",
      port: 2222,
    }]);
  });

  test("configFromDocument() expands ~ and resolves relative key paths against baseDir", () => {
    const text = CONFIG.replace("host: node3", "host: node2");
    const node2 = load(text).desiredState["far"]?.host.sshConfig;
    expect(node2?.user).toBe("admin");
    expect(node2?.privateKeyPath).toBe("/srv/berth/keys/node2");
  });

  test("configFromDocument() resolves ${env:NAME} references and reports unset ones", () => {
    const text = `
ssh: { password: "\${env:BERTH_SSH_PASSWORD}" }
hosts: { n: { ssh: { address: h } } }
containers: { a: { host: n, image: busybox, env: { LITERAL: "$\${env:KEEP}", MIXED: "x-\${env:SUFFIX}" } } }
`;
    const a = load(text, { BERTH_SSH_PASSWORD: "pw", SUFFIX: "y" }).desiredState["a"];
    expect(a?.host.sshConfig?.password).toBe("pw");
    expect(a?.container.config.env).toEqual({ LITERAL: "${env:KEEP}", MIXED: "x-y" });
    const problems = problemsOf(() => load(text, { SUFFIX: "y" }));
    expect(problems).toEqual([{
      path: "ssh.password",
      message: "environment variable BERTH_SSH_PASSWORD is not set; set it, or write the value here",
    }]);
    const invalid = problemsOf(() => load(text.replace("BERTH_SSH_PASSWORD", "1-bad"), { SUFFIX: "y" }));
    expect(invalid[0]?.message).toContain("is not a valid environment reference");
  });

  test("configFromDocument() reports unknown hosts with a suggestion", () => {
    const problems = problemsOf(() => load(CONFIG.replace("host: node1", "host: nod1")));
    expect(problems).toEqual([{
      path: "containers.etcd.host",
      message: 'host "nod1" is not defined under hosts:; did you mean `node1`?',
    }]);
  });

  test("configFromDocument() reports every problem with berth paths", () => {
    const text = `
ssh: { address: x, port: 0 }
hosts:
  a: { direct: {}, ssh: { address: h } }
  b: { ssh: { adress: h } }
containers:
  etcd: { host: a, imgae: busybox, ports: [ { port: "80" } ] }
`;
    const problems = problemsOf(() => load(text));
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual([
      "ssh.address",
      "ssh.port",
      "hosts.a",
      "hosts.b.ssh.adress",
      "hosts.b.ssh.address",
      "containers.etcd.imgae",
      "containers.etcd.image",
      "containers.etcd.ports[0].port",
    ]);
    expect(problems[5]?.message).toContain("did you mean `image`?");
    expect(problems[2]?.message).toBe("set exactly one of direct or ssh");
  });

  test("configFromDocument() reports duplicate names on the same host", () => {
    const text = `
hosts: { n: { direct: {} } }
containers:
  a: { host: n, image: busybox }
  b: { host: n, image: busybox, name: a }
`;
    expect(problemsOf(() => load(text))).toEqual([
      {
        path: "containers.b.name",
        message: 'container name "a" is also used by containers.a on the same host; give one of them another name',
      },
    ]);
  });

  test("configFromDocument() rejects documents that are not configs", () => {
    for (const doc of [null, 1, "x", [], { hosts: {} }]) {
      expect(problemsOf(() => configFromDocument(doc, "c.yaml")).length).toBe(1);
    }
    expect(load("containers: {}").desiredState).toEqual({});
  });

  test("configFromDocument() accepts flexkube's containers resource", () => {
    const text = `
desiredState:
  foo:
    host: { ssh: { address: 10.0.0.1, port: 22, user: core, connectionTimeout: 30s, retryTimeout: 60s, retryInterval: 1s, privateKey: "\${env:KEY}" } }
    container:
      runtime: { docker: {} }
      config: { name: baz, image: nginx }
previousState:
  foo:
    host: { direct: {} }
    container:
      config: { name: baz, image: nginx }
      status: { id: abc, status: running, image: "sha256:1", name: /baz }
      runtime: { docker: { host: "unix:///var/run/docker.sock" } }
`;
    const config = load(text, { KEY: "PEM" });
    expect(config.desiredState["foo"]?.host.sshConfig?.privateKey).toBe("PEM");
    expect(config.desiredState["foo"]?.container.runtime).toEqual({ docker: {} });
    expect(config.previousState?.["foo"]?.container.status).toEqual({ id: "abc", status: "running" });
    expect(config.previousState?.["foo"]?.host).toEqual({ directConfig: {} });
  });

  test("configFromDocument() flattens flexkube CLI groups and reports collisions", () => {
    const hccOf = (name: string) => ({ container: { config: { name, image: "nginx" } }, host: { direct: {} } });
    const ok = configFromDocument({
      containers: { g1: { desiredState: { a: hccOf("a") } }, g2: { desiredState: { b: hccOf("b") } } },
    }, "c.yaml");
    expect(Object.keys(ok.desiredState)).toEqual(["a", "b"]);
    const clash = {
      containers: { g1: { desiredState: { a: hccOf("a") } }, g2: { desiredState: { a: hccOf("z"), b: hccOf("a") } } },
    };
    expect(problemsOf(() => configFromDocument(clash, "c.yaml"))).toEqual([
      { path: "containers.g2.desiredState.a", message: 'container "a" is also in group "g1"; rename one of them' },
      {
        path: "containers.g2.desiredState.b.container.config.name",
        message:
          'container name "a" is also used by containers.g1.desiredState.a on the same host; give one of them another name',
      },
    ]);
  });
});

describe("config.ts documentation", () => {
  test("configFromDocument() loads the example in core/config.ts's module doc", async () => {
    const { readFile } = await import("node:fs/promises");
    const source = await readFile(new URL("../../core/config.ts", import.meta.url), "utf8");
    const block = /```yaml\n([\s\S]*?)\n \* ```/.exec(source)?.[1];
    if (block === undefined) throw new Error("no yaml example in core/config.ts");
    const text = block.split("\n").map((line) => line.replace(/^ \* ?/, "")).join("\n");
    const env = { HOME: "/home/op", BERTH_KEY_PASSPHRASE: "pp", REGISTRY_PASSWORD: "rp" };
    const { desiredState } = configFromDocument(parseDocument(text, "example.yaml"), "example.yaml", {
      env,
      baseDir: "/srv",
    });
    expect(Object.keys(desiredState)).toEqual(["etcd", "web"]);
    expect(desiredState["web"]?.container.config.name).toBe("web-1");
    expect(desiredState["etcd"]?.host.sshConfig?.passphrase).toBe("pp");
  });
});

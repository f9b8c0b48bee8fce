import { describe, expect, test } from "../support/harness.ts";
import type { Containers, HostConfiguredContainer } from "../../core/model.ts";
import {
  type Problem,
  validateContainers,
  validateHostConfiguredContainer,
  ValidationError,
} from "../../core/validate.ts";

function hcc(): HostConfiguredContainer {
  return {
    container: {
      config: {
        name: "etcd",
        image: "quay.io/coreos/etcd:v3.5.9",
        args: ["--name", "etcd"],
        ports: [{ port: 2379, ip: "0.0.0.0", protocol: "tcp" }],
        mounts: [{ source: "/var/lib/etcd/", target: "/var/lib/etcd", propagation: "rshared" }],
        env: { ETCD_DATA_DIR: "/var/lib/etcd" },
        networkMode: "host",
        user: "1000",
        group: "etcd",
        init: true,
      },
      status: { id: "abc", status: "running" },
      runtime: { docker: { host: "unix:///var/run/docker.sock" } },
    },
    host: {
      sshConfig: {
        address: "198.18.0.11",
        port: 22,
        user: "root",
        connectionTimeout: "30s",
        hostKeyPolicy: "strict",
        jump: [{ address: "bastion.example" }],
      },
    },
    configFiles: { "/etc/etcd/etcd.conf": "name: etcd\n" },
  };
}

/** Problems of a valid HCC after `mutate` changed it (as untyped data, like a document). */
// The mutations reach anywhere in the untyped document, as a user's YAML can.
// deno-lint-ignore no-explicit-any
function problemsAfter(mutate: (doc: Record<string, any>) => void): Problem[] {
  // deno-lint-ignore no-explicit-any
  const doc = hcc() as unknown as Record<string, any>;
  mutate(doc);
  return validateHostConfiguredContainer(doc as HostConfiguredContainer, "desiredState.etcd");
}

function expectProblem(problems: Problem[], path: string, message: string): void {
  const found = problems.find((p) => p.path === path && p.message.includes(message));
  if (found === undefined) {
    throw new Error(`no problem at ${path} containing ${JSON.stringify(message)}; got ${JSON.stringify(problems)}`);
  }
}

describe("validateHostConfiguredContainer()", () => {
  test("validateHostConfiguredContainer() accepts a full valid container", () => {
    expect(validateHostConfiguredContainer(hcc(), "desiredState.etcd")).toEqual([]);
  });

  test("validateHostConfiguredContainer() accepts flexkube's host spellings and empty values", () => {
    expect(problemsAfter((d) => (d.host = { direct: {} }))).toEqual([]);
    expect(problemsAfter((d) => (d.host = { direct: null }))).toEqual([]);
    expect(problemsAfter((d) => (d.host = { ssh: { address: "10.0.0.1" } }))).toEqual([]);
    expect(problemsAfter((d) => (d.container.config.ports = [{ ip: "", port: 80, protocol: "" }]))).toEqual([]);
    expect(
      problemsAfter((d) => (d.container.status = { id: "x", status: "running", image: "sha256:1", name: "/etcd" })),
    ).toEqual([]);
  });

  test("validateHostConfiguredContainer() checks container names", () => {
    for (const name of ["etcd", "a", "A-1.b_c", "0x"]) {
      expect(problemsAfter((d) => (d.container.config.name = name))).toEqual([]);
    }
    for (const name of ["-x", ".x", "a b", "a/b", "ä", ""]) {
      expect(problemsAfter((d) => (d.container.config.name = name))[0]?.path).toBe(
        "desiredState.etcd.container.config.name",
      );
    }
  });

  test("validateHostConfiguredContainer() checks image references", () => {
    const good = [
      "busybox",
      "busybox:1.36",
      "quay.io/coreos/etcd:v3.5.9",
      "localhost:5000/x/y:z",
      "127.0.0.1:5000/berth-test:latest",
      `busybox@sha256:${"a".repeat(64)}`,
      `sha256:${"b".repeat(64)}`,
      "berth-test:latest",
      "a__b/c--d",
    ];
    for (const image of good) expect(problemsAfter((d) => (d.container.config.image = image))).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.container.config.image = "")),
      "desiredState.etcd.container.config.image",
      "set the image",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.image = "busy box")),
      "desiredState.etcd.container.config.image",
      "whitespace",
    );
    for (const image of ["Busybox", "busybox:", ":tag", "a//b", "busybox@sha256:12", "-a", "a:b:c"]) {
      expectProblem(
        problemsAfter((d) => (d.container.config.image = image)),
        "desiredState.etcd.container.config.image",
        "not a valid image reference",
      );
    }
  });

  test("validateHostConfiguredContainer() requires exactly one transport per host", () => {
    expectProblem(
      problemsAfter((d) => (d.host = {})),
      "desiredState.etcd.host",
      "set exactly one of directConfig or sshConfig",
    );
    expectProblem(
      problemsAfter((d) => (d.host = { directConfig: {}, sshConfig: { address: "h" } })),
      "desiredState.etcd.host",
      "set exactly one",
    );
    expectProblem(
      problemsAfter((d) => (d.host = { directConfig: { x: 1 } })),
      "desiredState.etcd.host.directConfig.x",
      "takes no settings",
    );
    expectProblem(problemsAfter((d) => delete d.host), "desiredState.etcd.host", "missing host");
  });

  test("validateHostConfiguredContainer() checks ssh settings", () => {
    const ssh = "desiredState.etcd.host.sshConfig";
    expectProblem(problemsAfter((d) => delete d.host.sshConfig.address), `${ssh}.address`, "missing address");
    expectProblem(problemsAfter((d) => (d.host.sshConfig.address = "")), `${ssh}.address`, "set the host name");
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.address = "host:22")),
      `${ssh}.address`,
      "set the port in port:",
    );
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.address = "a b")),
      `${ssh}.address`,
      "not a host name or IP address",
    );
    expect(problemsAfter((d) => (d.host.sshConfig.address = "fd00::1"))).toEqual([]);
    for (const port of [0, 65536, 22.5, -1]) {
      expectProblem(problemsAfter((d) => (d.host.sshConfig.port = port)), `${ssh}.port`, "from 1 to 65535");
    }
    expectProblem(problemsAfter((d) => (d.host.sshConfig.port = "22")), `${ssh}.port`, "write 22 without quotes");
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.connectionTimeout = "30")),
      `${ssh}.connectionTimeout`,
      "is not a duration",
    );
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.retryInterval = 1)),
      `${ssh}.retryInterval`,
      "expected a string, got a number",
    );
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.hostKeyPolicy = "yolo")),
      `${ssh}.hostKeyPolicy`,
      "strict, accept-new, insecure",
    );
    expectProblem(problemsAfter((d) => (d.host.sshConfig.agent = "yes")), `${ssh}.agent`, "expected true or false");
    expectProblem(problemsAfter((d) => (d.host.sshConfig.user = "")), `${ssh}.user`, "set the user");
  });

  test("validateHostConfiguredContainer() checks jump entries", () => {
    const jump = "desiredState.etcd.host.sshConfig.jump";
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.jump = [{ port: 22 }])),
      `${jump}[0].address`,
      "missing address",
    );
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.jump = [{ address: "b", jump: [] }])),
      `${jump}[0].jump`,
      "cannot have its own jump",
    );
    expectProblem(
      problemsAfter((d) => (d.host.sshConfig.jump = { address: "b" })),
      jump,
      "expected a list of bastion hosts, got a mapping",
    );
  });

  test("validateHostConfiguredContainer() checks ports", () => {
    const port = "desiredState.etcd.container.config.ports[0]";
    expectProblem(problemsAfter((d) => (d.container.config.ports[0].port = 0)), `${port}.port`, "from 1 to 65535");
    expectProblem(problemsAfter((d) => delete d.container.config.ports[0].port), `${port}.port`, "missing port");
    expectProblem(
      problemsAfter((d) => (d.container.config.ports[0].protocol = "icmp")),
      `${port}.protocol`,
      "tcp, udp, sctp",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.ports[0].ip = "300.1.1.1")),
      `${port}.ip`,
      "not an IPv4 or IPv6 address",
    );
    expect(problemsAfter((d) => (d.container.config.ports[0].ip = "::1"))).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.container.config.ports = 80)),
      "desiredState.etcd.container.config.ports",
      "expected a list of ports, got a number",
    );
  });

  test("validateHostConfiguredContainer() checks mounts", () => {
    const mount = "desiredState.etcd.container.config.mounts[0]";
    expectProblem(
      problemsAfter((d) => (d.container.config.mounts[0].source = "var/lib")),
      `${mount}.source`,
      "absolute path",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.mounts[0].target = "/a/../b")),
      `${mount}.target`,
      '".." segments',
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.mounts[0].target = "/")),
      `${mount}.target`,
      'cannot be "/"',
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.mounts[0].propagation = "bogus")),
      `${mount}.propagation`,
      "rprivate",
    );
    expectProblem(
      problemsAfter((d) => delete d.container.config.mounts[0].target),
      `${mount}.target`,
      "missing target",
    );
  });

  test("validateHostConfiguredContainer() checks config file paths and content", () => {
    const files = "desiredState.etcd.configFiles";
    for (const path of ["/etc//x", "/etc/x/", "/"]) {
      expect(problemsAfter((d) => (d.configFiles = { [path]: "x" })).length).toBe(1);
    }
    expectProblem(problemsAfter((d) => (d.configFiles = { "etc/x": "x" })), `${files}["etc/x"]`, "absolute path");
    expectProblem(
      problemsAfter((d) => (d.configFiles = { "/etc/../x": "x" })),
      `${files}["/etc/../x"]`,
      '".." segments',
    );
    expectProblem(problemsAfter((d) => (d.configFiles = { "/etc/./x": "x" })), `${files}["/etc/./x"]`, '"." or ".."');
    expectProblem(
      problemsAfter((d) => (d.configFiles = { "/etc/x": 5 })),
      `${files}["/etc/x"]`,
      "expected a string, got a number",
    );
    expectProblem(problemsAfter((d) => (d.configFiles = ["a"])), files, "expected a mapping of config files");
  });

  test("validateHostConfiguredContainer() checks env, args, entrypoint, user and group", () => {
    const config = "desiredState.etcd.container.config";
    expectProblem(problemsAfter((d) => (d.container.config.env = { "": "x" })), `${config}.env[""]`, "cannot be empty");
    expectProblem(
      problemsAfter((d) => (d.container.config.env = { "A=B": "x" })),
      `${config}.env["A=B"]`,
      'contains "="',
    );
    // env may hold secrets: the hint to quote a number never repeats it.
    const numeric = problemsAfter((d) => (d.container.config.env = { A: 918273645 }));
    expectProblem(numeric, `${config}.env.A`, "quote it");
    expect(JSON.stringify(numeric).includes("918273645")).toBe(false);
    expectProblem(
      problemsAfter((d) => (d.container.config.args = 5)),
      `${config}.args`,
      "expected a list of strings, got a number",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.args = ["a", 5])),
      `${config}.args[1]`,
      "expected a string, got a number",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.entrypoint = "sh")),
      `${config}.entrypoint`,
      "expected a list of strings, got a string",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.user = "1000:1000")),
      `${config}.user`,
      "set the group in group:",
    );
    expectProblem(problemsAfter((d) => (d.container.config.group = "a b")), `${config}.group`, "not a plain group");
    expectProblem(
      problemsAfter((d) => (d.container.config.privileged = "true")),
      `${config}.privileged`,
      "expected true or false",
    );
  });

  test("validateHostConfiguredContainer() checks network, pid and ipc modes", () => {
    const config = "desiredState.etcd.container.config";
    for (const mode of ["host", "none", "bridge", "container:etcd", "my-net"]) {
      expect(problemsAfter((d) => (d.container.config.networkMode = mode))).toEqual([]);
    }
    expectProblem(
      problemsAfter((d) => (d.container.config.networkMode = "bad mode")),
      `${config}.networkMode`,
      "not a valid network mode",
    );
    expectProblem(
      problemsAfter((d) => (d.container.config.networkMode = "container:")),
      `${config}.networkMode`,
      "container:<name>",
    );
    expect(problemsAfter((d) => (d.container.config.pidMode = "host"))).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.container.config.pidMode = "private")),
      `${config}.pidMode`,
      "not a valid pid mode",
    );
    expect(problemsAfter((d) => (d.container.config.ipcMode = "shareable"))).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.container.config.ipcMode = "my-net")),
      `${config}.ipcMode`,
      "not a valid ipc mode",
    );
  });

  test("validateHostConfiguredContainer() checks runtime and status", () => {
    const container = "desiredState.etcd.container";
    expectProblem(
      problemsAfter((d) => (d.container.runtime = {})),
      `${container}.runtime`,
      "set a runtime, such as docker: {}",
    );
    expectProblem(
      problemsAfter((d) => (d.container.runtime = { docker: { host: "http://x" } })),
      `${container}.runtime.docker.host`,
      "not an engine address",
    );
    expect(
      problemsAfter((
        d,
      ) => (d.container.runtime = { docker: { host: "tcp://10.0.0.1:2376", tls: { ca: "/ca.pem", verify: true } } })),
    ).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.container.runtime = { docker: { registryAuth: { "docker.io": { username: "u" } } } })),
      `${container}.runtime.docker.registryAuth["docker.io"].password`,
      "missing password",
    );
    expectProblem(
      problemsAfter((d) => (d.container.status = { id: "x" })),
      `${container}.status.status`,
      "missing status",
    );
  });

  test("validateHostConfiguredContainer() reports missing and unknown fields with suggestions", () => {
    const problems = problemsAfter((d) => {
      d.container.config.imgae = d.container.config.image;
      delete d.container.config.image;
      d.container.config.network_mode = "host";
      d.confgFiles = {};
    });
    expectProblem(problems, "desiredState.etcd.container.config.imgae", "did you mean `image`?");
    expectProblem(problems, "desiredState.etcd.container.config.image", "missing image");
    expectProblem(problems, "desiredState.etcd.container.config.network_mode", "did you mean `networkMode`?");
    expectProblem(problems, "desiredState.etcd.confgFiles", "did you mean `configFiles`?");
    expectProblem(
      problemsAfter((d) => (d.zzz = 1)),
      "desiredState.etcd.zzz",
      "remove it (known fields: container, host, configFiles, sensitive, dependsOn, hooks)",
    );
  });

  test("validateHostConfiguredContainer() reports every problem at once", () => {
    const problems = problemsAfter((d) => {
      d.container.config.name = "-";
      d.container.config.image = "";
      d.host.sshConfig.port = 0;
      d.configFiles = { "rel": "x" };
    });
    expect(problems.length).toBe(4);
  });

  test("validateHostConfiguredContainer() accepts hooks only as functions", () => {
    expect(problemsAfter((d) => (d.hooks = { postStart: () => {} }))).toEqual([]);
    expectProblem(
      problemsAfter((d) => (d.hooks = { postStart: "echo" })),
      "desiredState.etcd.hooks.postStart",
      "hooks can only be set from code",
    );
  });
});

describe("validateContainers()", () => {
  test("validateContainers() accepts a resource with either state", () => {
    expect(validateContainers({ desiredState: { etcd: hcc() } })).toEqual([]);
    expect(validateContainers({ previousState: { etcd: hcc() }, desiredState: {} })).toEqual([]);
  });

  test("validateContainers() reports neither state set", () => {
    expectProblem(validateContainers({}), "desiredState", "both are empty");
    expectProblem(validateContainers({ previousState: {}, desiredState: {} }), "desiredState", "both are empty");
  });

  test("validateContainers() reports two containers with the same name on the same host", () => {
    const a = hcc();
    const b = hcc();
    const problems = validateContainers({ desiredState: { a, b } });
    expectProblem(
      problems,
      "desiredState.b.container.config.name",
      'container name "etcd" is also used by desiredState.a',
    );
    const elsewhere = hcc();
    elsewhere.host = { sshConfig: { address: "198.18.0.12" } };
    expect(validateContainers({ desiredState: { a, elsewhere } })).toEqual([]);
    const otherEngine = hcc();
    otherEngine.container.runtime = { docker: { host: "unix:///run/other.sock" } };
    expect(validateContainers({ desiredState: { a, otherEngine } })).toEqual([]);
  });

  test("validateContainers() keeps the name prefix of berth's file helpers for berth", () => {
    const helperLike = hcc();
    helperLike.container.config.name = "berth-files-0123456789ab";
    expectProblem(
      validateContainers({ desiredState: { a: helperLike } }),
      "desiredState.a.container.config.name",
      'starts with "berth-files-", which berth keeps for its file helper containers: choose another name',
    );
  });

  test("validateContainers() checks names of map keys and type errors of states", () => {
    expectProblem(
      validateContainers({ desiredState: { "bad name": hcc() } }),
      'desiredState["bad name"]',
      "not a valid name",
    );
    expectProblem(
      validateContainers({ desiredState: [] } as unknown as Containers),
      "desiredState",
      "expected a mapping of containers",
    );
    expectProblem(
      validateContainers({ desiredStat: {} } as unknown as Containers),
      "desiredStat",
      "did you mean `desiredState`?",
    );
    expectProblem(validateContainers(7 as unknown as Containers), "(document)", "expected a mapping, got a number");
  });
});

describe("ValidationError", () => {
  test("ValidationError lists every problem, one per line, with code VALIDATION", () => {
    const err = new ValidationError(
      [{ path: "a.b", message: "fix b" }, { path: "c", message: "fix c" }],
      "config.yaml",
    );
    expect(err.code).toBe("VALIDATION");
    expect(err.message).toBe('Invalid "config.yaml" (2 problems):\na.b: fix b\nc: fix c');
    expect(err.problems.length).toBe(2);
  });
});

import { describe, expect, test } from "../support/harness.ts";
import { problemsOf } from "../support/errors.ts";
import type { ContainersState } from "../../core/model.ts";
import { parseDocument, stateFromDocument, stateToYaml, stripSecrets } from "../../core/serialize.ts";
import { ValidationError } from "../../core/validate.ts";

function state(): ContainersState {
  return {
    web: {
      container: {
        config: {
          name: "web",
          image: "nginx:1.25",
          args: ["-g", "daemon off;"],
          ports: [{ ip: "::", port: 8080, protocol: "udp" }],
          mounts: [{ source: "/srv/www/", target: "/usr/share/nginx/html", propagation: "rslave" }],
          privileged: false,
          env: { Z: "last", A: "first", EMPTY: "", MULTI: "a\nb" },
          user: "101",
        },
        status: { id: "0123abc", status: "running" },
        runtime: {
          docker: {
            host: "tcp://10.0.0.1:2376",
            tls: { ca: "/ca.pem", verify: true },
            registryAuth: { "docker.io": { username: "u", password: "p" } },
          },
        },
      },
      host: {
        sshConfig: {
          address: "198.18.0.11",
          port: 2222,
          user: "core",
          password: "pw",
          privateKey: "PEM",
          passphrase: "pp",
          privateKeyPath: "/root/.ssh/id",
          agent: true,
          connectionTimeout: "30s",
          hostKeyPolicy: "accept-new",
          jump: [{ address: "bastion", password: "bpw" }],
        },
      },
      configFiles: {
        "/etc/z.conf": "z\n",
        "/etc/a.conf": "  leading spaces\n\ttab\r\n",
        "/etc/empty": "",
        "/etc/yes": "yes",
      },
      hooks: { postStart: () => {} },
    },
    "1": { container: { config: { name: "one", image: "busybox" } }, host: { directConfig: {} } },
  };
}

describe("parseDocument()", () => {
  test("parseDocument() reads YAML and JSON", () => {
    expect(parseDocument("a: [1, two]\nb: { c: true }", "x.yaml")).toEqual({ a: [1, "two"], b: { c: true } });
    expect(parseDocument('{"a": [1, "two"]}', "x.json")).toEqual({ a: [1, "two"] });
    expect(parseDocument("", "x.yaml")).toBe(null);
  });

  test("parseDocument() reads YAML 1.2 scalars (yes and on stay strings)", () => {
    expect(parseDocument("a: yes\nb: on\nc: 0755\nd: '22'", "x.yaml")).toEqual({ a: "yes", b: "on", c: 755, d: "22" });
  });

  test("parseDocument() reports syntax errors with source, line and column", () => {
    const err = problemsOf(() => parseDocument("a: 1\nb: [1, 2\nc: 3", "config.yaml"));
    expect(err[0]?.path).toBe("config.yaml:3:1");
    expect(() => parseDocument("a: 1\na: 2", "config.yaml")).toThrow("config.yaml:2:1: Map keys must be unique");
    expect(() => parseDocument("a\n---\nb", "config.yaml")).toThrow(
      'config.yaml:2:1: expected one document; remove the "---" separator',
    );
  });

  test("parseDocument() refuses alias bombs", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    expect(() => parseDocument(bomb, "bomb.yaml")).toThrow(ValidationError);
  });
});

describe("stateToYaml()", () => {
  test("stateToYaml() output reads back as the same state, without secrets and hooks", () => {
    const original = state();
    const text = stateToYaml(original);
    const back = stateFromDocument(parseDocument(text, "state.yaml"), "state.yaml");
    const expected = stripSecrets(original);
    delete expected["web"]?.hooks;
    expect(back).toEqual(expected);
  });

  test("stateToYaml() strips every secret", () => {
    const text = stateToYaml(state());
    for (
      const secret of [
        "pw",
        "PEM",
        "pp",
        "bpw",
        "registryAuth",
        "password",
        "passphrase",
        "privateKey:",
        "hooks",
        "postStart",
      ]
    ) {
      expect(text.includes(`${secret}\n`) || text.includes(`${secret}:`) || text.includes(` ${secret}`)).toBe(false);
    }
    expect(text).toContain("privateKeyPath: /root/.ssh/id");
  });

  test("stateToYaml() writes a stable order: version, sorted names, fixed fields, sorted maps", () => {
    const text = stateToYaml(state());
    expect(text.startsWith("version: 1\ncontainers:\n")).toBe(true);
    expect(text.indexOf("a.conf")).toBeLessThan(text.indexOf("z.conf"));
    expect(text.indexOf("A: first")).toBeLessThan(text.indexOf("Z: last"));
    expect(text.indexOf("address:")).toBeLessThan(text.indexOf("port: 2222"));
    const shuffled = state();
    const web = shuffled["web"];
    if (web === undefined) throw new Error("missing");
    shuffled["web"] = {
      configFiles: web.configFiles ?? {},
      host: web.host,
      container: {
        runtime: web.container.runtime ?? {},
        status: web.container.status ?? { id: "", status: "" },
        config: { ...web.container.config },
      },
    };
    expect(stateToYaml(shuffled)).toBe(text);
  });

  test("stateToYaml() writes an empty state that reads back empty", () => {
    expect(stateFromDocument(parseDocument(stateToYaml({}), "s"), "s")).toEqual({});
  });
});

describe("stripSecrets()", () => {
  test("stripSecrets() removes passwords, keys, passphrases and registry auth, and leaves the input alone", () => {
    const original = state();
    const stripped = stripSecrets(original);
    expect(stripped["web"]?.host.sshConfig).toEqual({
      address: "198.18.0.11",
      port: 2222,
      user: "core",
      privateKeyPath: "/root/.ssh/id",
      agent: true,
      connectionTimeout: "30s",
      hostKeyPolicy: "accept-new",
      jump: [{ address: "bastion" }],
    });
    expect(stripped["web"]?.container.runtime).toEqual({
      docker: { host: "tcp://10.0.0.1:2376", tls: { ca: "/ca.pem", verify: true } },
    });
    expect(original["web"]?.host.sshConfig?.password).toBe("pw");
  });
});

describe("stateFromDocument()", () => {
  test("stateFromDocument() reads flexkube's state as it is", () => {
    const text = `previousState:
    bar:
        container:
            config:
                name: baz
                image: busybox
                args: [-f, /dev/null]
                entrypoint: [/bin/tail]
                mounts:
                  - source: /tmp/foo/
                    target: /tmp/foo
            status:
                image: sha256:19485c79a9bbdca205fce4f791efeaa2a103e23431434696cc54fdd939e9198d
                id: cdface3cf9a6874e122a7d0c63b26b895a33c730e8931265e48cd12016fb2977
                name: /baz
                status: running
            runtime:
                docker:
                    host: unix:///var/run/docker.sock
        host:
            direct: {}
        configFiles:
            /tmp/foo/bar: |
                baz
`;
    expect(stateFromDocument(parseDocument(text, "state.yaml"), "state.yaml")).toEqual({
      bar: {
        container: {
          config: {
            name: "baz",
            image: "busybox",
            args: ["-f", "/dev/null"],
            entrypoint: ["/bin/tail"],
            mounts: [{ source: "/tmp/foo/", target: "/tmp/foo" }],
          },
          status: { id: "cdface3cf9a6874e122a7d0c63b26b895a33c730e8931265e48cd12016fb2977", status: "running" },
          runtime: { docker: { host: "unix:///var/run/docker.sock" } },
        },
        host: { directConfig: {} },
        configFiles: { "/tmp/foo/bar": "baz\n" },
      },
    });
  });

  test("stateFromDocument() reads flexkube CLI groups, also under state:", () => {
    const hcc = { container: { config: { name: "a", image: "nginx" } }, host: { ssh: { address: "10.0.0.1" } } };
    const expected = {
      a: { container: { config: { name: "a", image: "nginx" } }, host: { sshConfig: { address: "10.0.0.1" } } },
    };
    expect(stateFromDocument({ containers: { g: { a: hcc } } }, "s")).toEqual(expected);
    expect(stateFromDocument({ state: { containers: { g: { a: hcc } } } }, "s")).toEqual(expected);
    expect(problemsOf(() => stateFromDocument({ containers: { g: { a: hcc }, h: { a: hcc } } }, "s"))).toEqual([
      { path: "containers.h.a", message: 'container "a" is also in group "g"; rename one of them' },
    ]);
  });

  test("stateFromDocument() treats empty documents as an empty state", () => {
    expect(stateFromDocument(null, "s")).toEqual({});
    expect(stateFromDocument({}, "s")).toEqual({});
  });

  test("stateFromDocument() reports version, type and unknown field problems", () => {
    expect(problemsOf(() => stateFromDocument({ version: 2, containers: {} }, "s"))[0]?.message).toBe(
      "unsupported state version 2; this berth reads version 1",
    );
    expect(problemsOf(() => stateFromDocument([], "s"))[0]?.path).toBe("(document)");
    const problems = problemsOf(() =>
      stateFromDocument({
        version: 1,
        containers: { a: { container: { config: { name: "a", image: "x", portz: [] } }, host: { directConfig: {} } } },
        vesion: 1,
      }, "s")
    );
    expect(problems.map((p) => p.path)).toEqual(["vesion", "containers.a.container.config.portz"]);
    expect(problems[1]?.message).toContain("did you mean `ports`?");
  });
});

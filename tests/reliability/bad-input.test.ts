/**
 * Bad config and state documents through the CLI: exit 1, one clear error
 * per problem with its path, never a stack trace, never a change on a host.
 * Hand-written cases first, then seeded random mutations of a valid config.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, endWithCensus, removeByPrefix } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-bad-"));
const prefix = `rel-bad-${process.pid}`;
const engine = `unix://${env.local.socket}`;

const valid = `hosts:
  local: { direct: {} }
  far: { ssh: { address: 198.18.0.11, connectionTimeout: 2s } }
runtime:
  docker: { host: "${engine}" }
containers:
  a:
    name: ${prefix}-a
    host: local
    image: ${env.image}
    init: true
    networkMode: none
    args: [sleep, "1000"]
    env: { LEVEL: "1" }
    ports: [ { port: 8080, protocol: tcp } ]
    mounts: [ { source: ${dir}/data/, target: /data } ]
    configFiles: { "${dir}/a.conf": "x = 1" }
`;

/** A document, and what stderr must name. */
interface BadCase {
  name: string;
  config?: string;
  state?: string;
  expect: string[];
}

const withA = (fields: string) =>
  `hosts:\n  local: { direct: {} }\ncontainers:\n  a: { host: local, name: ${prefix}-a, image: "${env.image}", ${fields} }\n`;

const cases: BadCase[] = [
  { name: "malformed YAML (unclosed flow)", config: "containers: {a: [\n", expect: ["config.yaml:2:1"] },
  {
    name: "malformed YAML (bad indentation)",
    config: "containers:\n  a:\n    host: local\n   image: x\n",
    expect: ["config.yaml:"],
  },
  {
    name: "duplicate YAML keys",
    config: `hosts: {local: {direct: {}}}\ncontainers:\n  a: {host: local, image: x}\n  a: {host: local, image: y}\n`,
    expect: ["Map keys must be unique"],
  },
  { name: "a list instead of a mapping", config: "- a\n- b\n", expect: ["expected a config"] },
  { name: "empty document", config: "", expect: ["expected a config"] },
  { name: "binary garbage", config: "\u0000\u0001\u00ff\u0007garbage: [", expect: ["config.yaml"] },
  { name: "missing containers", config: "hosts: {local: {direct: {}}}\n", expect: ["containers"] },
  {
    name: "missing image and host",
    config: `hosts: {local: {direct: {}}}\ncontainers:\n  a: {}\n`,
    expect: ["containers.a.image", "containers.a.host"],
  },
  {
    name: "unknown top-level field",
    config: `hots: {}\n${withA("")}`,
    expect: ['hots: unknown field "hots"; did you mean `hosts`?'],
  },
  {
    name: "unknown container field",
    config: withA("imag: x, netwrkMode: none"),
    expect: ["containers.a.imag", "did you mean `image`?", "containers.a.netwrkMode", "`networkMode`"],
  },
  {
    name: "wrong types",
    config: withA('args: "x", privileged: "yes", env: [a], init: "true", ports: "80"'),
    expect: [
      "containers.a.args",
      "containers.a.privileged",
      "containers.a.env",
      "containers.a.init",
      "containers.a.ports",
    ],
  },
  {
    name: "invalid container name",
    config:
      `hosts: {local: {direct: {}}}\ncontainers:\n  "bad name!": {host: local, image: x}\n  -x: {host: local, image: x}\n`,
    expect: ['containers["bad name!"]', "is not a valid name"],
  },
  {
    name: "invalid images",
    config:
      `hosts: {local: {direct: {}}}\ncontainers:\n  a: {host: local, image: "UPPER:case"}\n  b: {host: local, image: "a b"}\n  c: {host: local, image: "x::y"}\n`,
    expect: ["containers.a.image", "containers.b.image", "containers.c.image"],
  },
  {
    name: "invalid ports",
    config: withA('ports: [ {port: 0}, {port: 70000}, {port: -1}, {port: "abc"}, {port: 80, protocol: icmp} ]'),
    expect: ["ports[0].port", "ports[1].port", "ports[2].port", "ports[3].port", "ports[4].protocol"],
  },
  {
    name: "invalid durations",
    config: `ssh: {connectionTimeout: "5 parsecs", retryInterval: -1, retryTimeout: "1y"}\n${withA("")}`,
    expect: ["ssh.connectionTimeout", "ssh.retryInterval", "ssh.retryTimeout"],
  },
  {
    name: "invalid modes",
    config: `ssh: {hostKeyPolicy: maybe}\n${
      withA("pidMode: x, ipcMode: y, mounts: [{source: /a/, target: /b, propagation: sideways}]")
    }`,
    expect: ["ssh.hostKeyPolicy", "containers.a.pidMode", "containers.a.ipcMode", "mounts[0].propagation"],
  },
  {
    name: "invalid restart policy, stop signal and stop timeout",
    config: withA('restartPolicy: "on-failure:x", stopSignal: SIGFOO, stopTimeout: "10"'),
    expect: [
      "containers.a.restartPolicy",
      "on-failure:N",
      "containers.a.stopSignal",
      "is not a signal",
      "containers.a.stopTimeout",
      "write 10 without quotes",
    ],
  },
  {
    name: "invalid resource limits",
    config: withA('memory: 512M, memorySwap: 512mb, shmSize: 1.5g, cpus: "0.5", cpusetCpus: "0-a", pidsLimit: 0'),
    expect: [
      "containers.a.memory",
      'write "512m"',
      "containers.a.memorySwap",
      "containers.a.shmSize",
      'write "1536m"',
      "containers.a.cpus",
      "write 0.5 without quotes",
      "containers.a.cpusetCpus",
      "containers.a.pidsLimit",
    ],
  },
  {
    name: "reserved label keys and bad names or addresses",
    config: withA('labels: { berth.name: x }, hostname: "db_1", extraHosts: ["db=10.0.0.5"], dns: [dns.google]'),
    expect: [
      'containers.a.labels["berth.name"]',
      "reserved",
      "containers.a.hostname",
      "containers.a.extraHosts[0]",
      'write "name:address"',
      "containers.a.dns[0]",
    ],
  },
  {
    name: "unknown capabilities, relative devices, host-wide sysctls",
    config: withA(
      'capAdd: [NET_ADMN], devices: [{source: dev/fuse}], sysctls: {kernel.panic: "1"}, ulimits: {nofiles: {soft: 1, hard: 1}}',
    ),
    expect: [
      "containers.a.capAdd[0]",
      "did you mean NET_ADMIN?",
      "containers.a.devices[0].source",
      'containers.a.sysctls["kernel.panic"]',
      "is not namespaced",
      "containers.a.ulimits.nofiles",
    ],
  },
  {
    name: "mounts: a bind mount without source, tmpfs fields on a bind mount, a bad tmpfs mode and size",
    config: withA(
      'mounts: [{target: /x}, {source: /a, target: /y, size: 1m}, {type: tmpfs, target: /z, mode: "999", size: 16M}]',
    ),
    expect: [
      "containers.a.mounts[0].source",
      "a bind mount needs source",
      "containers.a.mounts[1].size",
      "set type: tmpfs",
      "containers.a.mounts[2].mode",
      "not an octal mode",
      "containers.a.mounts[2].size",
    ],
  },
  {
    name: "volumes: an undeclared volume, a driver in the mount, a bad volume name",
    config: `volumes: { data: {}, "/srv": {} }\n${
      withA("mounts: [{type: volume, source: dta, target: /d}, {type: volume, source: data, target: /e, driver: nfs}]")
    }`,
    expect: [
      "volumes",
      "is not a volume name",
      "containers.a.mounts[0].source",
      "did you mean `data`?",
      "containers.a.mounts[1].driver",
      "under volumes:",
    ],
  },
  {
    name: "networks: an undeclared network, an address outside the subnet, one address twice, with networkMode",
    config: `networks: { backend: { subnet: 10.20.0.0/24 } }\n${
      withA(
        "networks: [{name: backnd}, {name: backend, ipv4Address: 10.21.0.1}]",
      )
    }  b: { host: local, image: x, networks: [{name: backend, ipv4Address: 10.20.0.7}] }\n` +
      `  c: { host: local, image: x, networkMode: none, networks: [{name: backend, ipv4Address: 10.20.0.7}] }\n`,
    expect: [
      "containers.a.networks[0].name",
      "did you mean `backend`?",
      "containers.a.networks[1].ipv4Address",
      "not in network backend's subnet",
      "containers.c.networks[0].ipv4Address",
      "give each its own address",
    ],
  },
  {
    name: "unknown logging driver and option",
    config: `${
      withA("logging: { driver: json-fil }")
    }  b: { host: local, image: x, logging: { options: { max-sise: 5m } } }\n`,
    expect: ["containers.a.logging.driver", "did you mean json-file?", "containers.b.logging.options.max-sise"],
  },
  {
    name: "memory limits the engine checks against each other",
    config: withA("memory: 64m, memoryReservation: 128m, memorySwap: 32m"),
    expect: [
      "containers.a.memoryReservation",
      "must not be above memory",
      "containers.a.memorySwap",
      "at least memory",
    ],
  },
  {
    name: "duplicate container names on one host",
    config:
      `hosts: {local: {direct: {}}}\ncontainers:\n  a: {host: local, name: same, image: x}\n  b: {host: local, name: same, image: x}\n`,
    expect: ['container name "same" is also used'],
  },
  {
    name: "unknown host with suggestion",
    config: `hosts: {local: {direct: {}}}\ncontainers:\n  a: {host: lokal, image: x}\n`,
    expect: ["containers.a.host", "did you mean `local`?"],
  },
  {
    name: "host with two transports, ssh without address",
    config:
      `hosts:\n  both: {direct: {}, ssh: {address: 1.2.3.4}}\n  none: {ssh: {port: 22}}\ncontainers:\n  a: {host: both, image: x}\n`,
    expect: ["hosts.both", "hosts.none.ssh.address"],
  },
  {
    name: "config file paths relative, with .., not text",
    config: withA('configFiles: { "etc/x": "a", "/etc/../y": "b", "/z": [1] }'),
    expect: ['configFiles["etc/x"]', 'configFiles["/etc/../y"]', 'configFiles["/z"]'],
  },
  {
    name: "mount target relative",
    config: withA("mounts: [ {source: /a, target: rel} ]"),
    expect: ["mounts[0].target"],
  },
  {
    name: "unset environment reference",
    config: withA('env: { P: "${env:BERTH_REL_UNSET_VARIABLE}" }'),
    expect: ["BERTH_REL_UNSET_VARIABLE"],
  },
  {
    name: "bad docker host address",
    config: withA('runtime: { docker: { host: "http://x" } }'),
    expect: ["containers.a.runtime"],
  },
  {
    name: "state: malformed YAML",
    config: valid,
    state: "version: 1\ncontainers: {a: [\n",
    expect: ["state.yaml", "left untouched"],
  },
  {
    name: "state: wrong version",
    config: valid,
    state: "version: 7\ncontainers: {}\n",
    expect: ["unsupported state version 7"],
  },
  {
    name: "state: containers is a list",
    config: valid,
    state: "version: 1\ncontainers: [a]\n",
    expect: ["containers"],
  },
  {
    name: "state: unknown field with suggestion",
    config: valid,
    state: "version: 1\ncontainer: {}\n",
    expect: ["container", "did you mean `containers`?"],
  },
  {
    name: "state: entry without config",
    config: valid,
    state: "version: 1\ncontainers:\n  a: { container: {}, host: { directConfig: {} } }\n",
    expect: ["containers.a.container"],
  },
  {
    name: "state: status of the wrong type",
    config: valid,
    state:
      `version: 1\ncontainers:\n  a: { container: { config: { name: a, image: x }, status: "running" }, host: { directConfig: {} } }\n`,
    expect: ["containers.a.container.status"],
  },
  { name: "state: a string", config: valid, state: "just text\n", expect: ["state.yaml"] },
];

/** Runs validate, plan and apply on the documents; returns stderr of each. */
async function tryAll(
  config: string,
  state: string | undefined,
): Promise<Array<{ cmd: string; code: number; stdout: string; stderr: string }>> {
  writeFileSync(join(dir, "config.yaml"), config);
  rmSync(join(dir, "state.yaml"), { force: true });
  if (state !== undefined) writeFileSync(join(dir, "state.yaml"), state, { mode: 0o600 });
  const runs = [];
  for (const args of [["validate"], ["plan"], ["apply", "--yes"], ["--json", "plan"]]) {
    runs.push({ cmd: args.join(" "), ...(await runCli(args, dir)) });
  }
  return runs;
}

afterAll(async () => {
  await removeByPrefix(env.local.socket, prefix);
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("bad input through the CLI", () => {
  test("the valid base config passes validation (so the mutations below start from valid)", async () => {
    writeFileSync(join(dir, "config.yaml"), valid);
    const run = await runCli(["validate"], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  for (const c of cases) {
    test(`bad input "${c.name}" exits 1 with every problem and its path, no stack trace, no change`, async () => {
      tally("badInputs");
      for (const run of await tryAll(c.config ?? valid, c.state)) {
        const where = `berth ${run.cmd} on "${c.name}": ${run.stderr}`;
        expect({ where, code: run.code }).toEqual({ where, code: 1 });
        for (const part of c.expect) expect(run.stderr).toContain(part);
        expect(run.stderr).not.toContain("    at ");
        expect(run.stderr).not.toContain("unexpected error");
        expect(run.stdout).not.toContain("created");
      }
      expect(await census(env.local.socket, prefix, [])).toEqual({ lost: [], duplicated: [], orphans: [] });
    }, 30_000);
  }

  test("200 seeded random mutations of a valid config never crash the CLI nor reach a host", async () => {
    let seed = 20240601;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const junk: unknown[] = [
      5,
      -1,
      0,
      1e30,
      "x y",
      "",
      "${env:BERTH_REL_UNSET}",
      [],
      [1, "a"],
      {},
      { zz: 1 },
      null,
      true,
      "../../etc/passwd",
      "UPPER",
      "a".repeat(300),
      "\u0000",
    ];
    let rejected = 0;
    for (let i = 0; i < 200; i++) {
      const doc = parse(valid) as Record<string, unknown>;
      // Walk to a random node and replace it (or add an unknown key beside it).
      let node: Record<string, unknown> = doc;
      const path: string[] = [];
      for (let depth = 0; depth < 4; depth++) {
        const keys = Object.keys(node);
        if (keys.length === 0) break;
        const key = pick(keys);
        const child = node[key];
        if (child === null || typeof child !== "object" || random() < 0.3) {
          if (random() < 0.15) node[`${key}x`] = pick(junk);
          else node[key] = pick(junk);
          path.push(key);
          break;
        }
        path.push(key);
        node = child as Record<string, unknown>;
      }
      writeFileSync(join(dir, "config.yaml"), stringify(doc));
      rmSync(join(dir, "state.yaml"), { force: true });
      const run = await runCli(["validate"], dir);
      tally("badInputs");
      const where = `mutation ${i} at ${path.join(".")}: ${run.stderr}`;
      expect({ where, ok: run.code === 0 || run.code === 1 }).toEqual({ where, ok: true });
      expect(run.stderr).not.toContain("    at ");
      expect(run.stderr).not.toContain("unexpected error");
      if (run.code === 1) {
        rejected++;
        // Only a rejected document is applied: it must change nothing.
        if (i % 5 === 0) expect((await runCli(["apply", "--yes"], dir)).code).toBe(1);
      }
    }
    expect(rejected).toBeGreaterThan(100);
    expect(await census(env.local.socket, prefix, [])).toEqual({ lost: [], duplicated: [], orphans: [] });
  }, 120_000);
});

// Nothing of berth's anywhere: every input here is refused before a host is changed.
endWithCensus(env, () => ({}));

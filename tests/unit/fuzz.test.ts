/**
 * Property tests: thousands of generated documents (random YAML text, random
 * values, mutations of valid documents) through the readers. Each either
 * loads or is rejected with a ValidationError listing problems with paths;
 * nothing else is thrown and nothing hangs. Valid generated states survive
 * a state.yaml round trip.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { configFromDocument } from "../../core/config.ts";
import { canonicalConfig, configHash } from "../../core/hash.ts";
import type { ContainersState, HostConfiguredContainer, SSHConfig } from "../../core/model.ts";
import { parseDocument, stateDocument, stateFromDocument, stateToYaml, stripSecrets } from "../../core/serialize.ts";
import { ValidationError } from "../../core/validate.ts";
import { libraryYaml } from "../../core/yaml-emit.ts";

// Only a runaway case (e.g. exponential work on some input) is a failure: a bound this
// generous never trips on a slow or shared machine. How fast reading is, is the bench's business.
const RUNAWAY_CASE_MS = 30_000;
const TEST_TIMEOUT_MS = 180_000;
const stats = { cases: 0, readings: 0, rejected: 0, slowestMs: 0, startedAt: Date.now() };

/** Runs a reader; it may succeed or throw a ValidationError with located problems, nothing else. */
function loadsOrRejects(read: () => unknown): void {
  const start = performance.now();
  stats.readings++;
  try {
    read();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    stats.rejected++;
    if (err.problems.length === 0) throw new Error("ValidationError without problems");
    for (const problem of err.problems) {
      if (
        typeof problem.path !== "string" || problem.path === "" || typeof problem.message !== "string" ||
        problem.message === ""
      ) {
        throw new Error(`problem without path or message: ${JSON.stringify(problem)}`);
      }
    }
  }
  const took = performance.now() - start;
  stats.slowestMs = Math.max(stats.slowestMs, took);
  if (took > RUNAWAY_CASE_MS) throw new Error(`a case took ${Math.round(took)} ms`);
}

const ENV = { HOME: "/home/fuzz", SET: "value" };

function throughEveryReader(doc: unknown): void {
  stats.cases++;
  loadsOrRejects(() => configFromDocument(doc, "config.yaml", { env: ENV, baseDir: "/base" }));
  loadsOrRejects(() => stateFromDocument(doc, "state.yaml"));
}

function throughText(text: string): void {
  let doc: unknown;
  try {
    doc = parseDocument(text, "fuzz.yaml");
  } catch (err) {
    stats.cases++;
    loadsOrRejects(() => {
      throw err;
    });
    return;
  }
  throughEveryReader(doc);
}

// ---- valid seeds ------------------------------------------------------------------

const BERTH_CONFIG = {
  ssh: { user: "root", privateKeyPath: "~/.ssh/id_ed25519", connectionTimeout: "30s", password: "${env:SET}" },
  hosts: {
    local: { direct: {} },
    node1: { ssh: { address: "198.18.0.11", port: 22 } },
    node3: { ssh: { address: "198.18.1.13", jump: [{ address: "198.18.0.10" }] } },
  },
  runtime: { docker: { host: "unix:///var/run/docker.sock" } },
  containers: {
    etcd: {
      host: "node1",
      image: "quay.io/coreos/etcd:v3.5.9",
      args: ["--name", "etcd"],
      env: { ETCD_DATA_DIR: "/var/lib/etcd" },
      ports: [{ port: 2379, ip: "0.0.0.0", protocol: "tcp" }],
      mounts: [{ source: "/var/lib/etcd/", target: "/var/lib/etcd" }],
      networkMode: "host",
      init: true,
      configFiles: { "/etc/etcd/etcd.conf": "name: etcd\n" },
    },
    web: {
      name: "web-1",
      host: "local",
      image: "nginx",
      runtime: { docker: { registryAuth: { "docker.io": { username: "u", password: "p" } } } },
    },
  },
};

const HCC = {
  container: {
    config: {
      name: "baz",
      image: "busybox",
      args: ["-f", "/dev/null"],
      mounts: [{ source: "/tmp/foo/", target: "/tmp/foo" }],
    },
    status: { id: "cdface3c", status: "running", image: "sha256:1", name: "/baz" },
    runtime: { docker: { host: "unix:///var/run/docker.sock" } },
  },
  host: {
    ssh: {
      address: "10.0.0.1",
      port: 22,
      user: "core",
      connectionTimeout: "30s",
      retryTimeout: "60s",
      retryInterval: "1s",
    },
  },
  configFiles: { "/tmp/foo/bar": "baz\n" },
};

const SEEDS: unknown[] = [
  BERTH_CONFIG,
  { previousState: { bar: HCC }, desiredState: { bar: HCC } },
  { containers: { g1: { desiredState: { a: HCC } }, g2: { previousState: { b: HCC } } } },
  { containers: { g1: { a: HCC } } },
  { state: { containers: { g1: { a: HCC } } } },
  { version: 1, containers: { a: { ...HCC, host: { sshConfig: HCC.host.ssh } } } },
];

// ---- mutations ---------------------------------------------------------------------

const weirdString = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\0",
    "..",
    "/",
    "//",
    "/a/../b",
    "${env:SET}",
    "${env:UNSET}",
    "$${env:SET}",
    "${env:}",
    "${env:1x}",
    "__proto__",
    "constructor",
    "toString",
    "-",
    "a".repeat(300),
    "\u202e",
    "😀",
    "\r\n",
    "0",
    "1e309",
    "NaN",
    "~",
    "~/x",
    "container:",
    "tcp://",
    "unix://",
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
);

const anyValue = fc.oneof(
  weirdString,
  fc.anything({
    maxDepth: 3,
    withNullPrototype: true,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withSparseArray: true,
    withBoxedValues: true,
  }),
);

type Mutation = { op: "replace" | "delete" | "add" | "typo"; at: number; value: unknown; key: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom("replace", "delete", "add", "typo"),
  at: fc.nat(),
  value: anyValue,
  key: fc.oneof(
    fc.constantFrom("__proto__", "constructor", "imgae", "adress", "desiredState", "containers", "ssh", "direct", ""),
    fc.string({ maxLength: 12 }),
  ),
});

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Every place in a document a mutation can hit (mutations may build cycles: each object is visited once). */
function slots(value: unknown, out: Slot[] = [], seen = new Set<object>()): Slot[] {
  if (typeof value !== "object" || value === null || seen.has(value)) return out;
  seen.add(value);
  if (Array.isArray(value)) value.forEach((item, i) => (out.push({ parent: value, key: i }), slots(item, out, seen)));
  else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      out.push({ parent: value, key });
      slots(item, out, seen);
    }
  }
  return out;
}

function setOwn(parent: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  Object.defineProperty(parent, key, { value, enumerable: true, configurable: true, writable: true });
}

function mutate(seed: unknown, mutations: Mutation[]): unknown {
  const doc = structuredClone(seed);
  for (const m of mutations) {
    const all = slots(doc);
    const slot = all[m.at % Math.max(1, all.length)];
    if (slot === undefined) return m.value;
    const { parent, key } = slot;
    const current = (parent as Record<string | number, unknown>)[key];
    if (m.op === "replace") setOwn(parent, key, m.value);
    else if (m.op === "delete") {
      Array.isArray(parent)
        ? parent.splice(key as number, 1)
        : delete (parent as Record<string, unknown>)[key as string];
    } else if (m.op === "add" && isPlainObject(current)) setOwn(current, m.key, m.value);
    else if (m.op === "typo" && !Array.isArray(parent) && typeof key === "string") {
      delete (parent as Record<string, unknown>)[key];
      setOwn(parent, `${key.slice(1)}${key.slice(0, 1)}`, current);
    }
  }
  return doc;
}

// ---- valid states for round trips ----------------------------------------------------

const name = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,12}$/);
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(
    "",
    " lead",
    "trail ",
    "a\nb\n",
    "\t\r\n",
    "yes",
    "null",
    "0755",
    "- x",
    "# c",
    "key: v",
    "\u0085\u2028",
    "${env:X}",
  ),
);
const absolutePath = fc.array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 4 }).map((parts) =>
  `/${parts.join("/")}`
);
const dictionary = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>) =>
  fc.dictionary(key, value, { maxKeys: 4, noNullPrototype: true });

const sshConfig: fc.Arbitrary<SSHConfig> = fc.record({
  address: fc.constantFrom("198.18.0.11", "node1.example", "fd00::1"),
  port: fc.integer({ min: 1, max: 65535 }),
  user: name,
  password: text,
  privateKey: text,
  privateKeyPath: absolutePath,
  passphrase: text,
  agent: fc.boolean(),
  connectionTimeout: fc.constantFrom("30s", "1m30s", "250ms"),
  hostKeyPolicy: fc.constantFrom("strict" as const, "accept-new" as const, "insecure" as const),
  jump: fc.array(
    fc.record({ address: fc.constantFrom("bastion", "198.18.0.1"), password: text }, {
      requiredKeys: ["address"],
      noNullPrototype: true,
    }),
    { maxLength: 2 },
  ),
}, { requiredKeys: ["address"], noNullPrototype: true });

const hccArbitrary: fc.Arbitrary<HostConfiguredContainer> = fc.record({
  container: fc.record({
    config: fc.record({
      name,
      image: fc.constantFrom("busybox", "quay.io/coreos/etcd:v3.5.9", "127.0.0.1:5000/berth-test:latest"),
      args: fc.array(text, { maxLength: 3 }),
      entrypoint: fc.array(text, { maxLength: 2 }),
      workingDir: absolutePath,
      ports: fc.array(
        fc.record({
          port: fc.integer({ min: 1, max: 65535 }),
          ip: fc.constantFrom("0.0.0.0", "::1", ""),
          protocol: fc.constantFrom("tcp" as const, "udp" as const, "sctp" as const),
        }, { requiredKeys: ["port"], noNullPrototype: true }),
        { maxLength: 2 },
      ),
      mounts: fc.array(
        fc.oneof(
          fc.record({
            source: absolutePath,
            target: absolutePath,
            readOnly: fc.boolean(),
            propagation: fc.constantFrom("rshared", "rprivate"),
          }, { requiredKeys: ["source", "target"], noNullPrototype: true }),
          fc.record({
            type: fc.constant("tmpfs" as const),
            target: absolutePath,
            readOnly: fc.boolean(),
            size: fc.constantFrom("16m", 4096),
            mode: fc.constantFrom("1777", "700"),
          }, { requiredKeys: ["type", "target"], noNullPrototype: true }),
          fc.record({
            type: fc.constant("volume" as const),
            source: fc.constantFrom("data", "db.v1", "x_y-2"),
            target: absolutePath,
            readOnly: fc.boolean(),
            driver: fc.constantFrom("local", "nfs"),
            driverOptions: fc.constantFrom({}, { type: "tmpfs" }),
          }, { requiredKeys: ["type", "source", "target"], noNullPrototype: true }),
        ),
        { maxLength: 2 },
      ),
      privileged: fc.boolean(),
      networkMode: fc.constantFrom("host", "none", "container:etcd"),
      networks: fc.array(
        fc.record({
          name: fc.constantFrom("backend", "front.net", "n_1"),
          aliases: fc.constantFrom<string[]>([], ["db"], ["db", "sql-1"]),
          ipv4Address: fc.constantFrom("10.20.0.5", "10.20.0.6"),
          subnet: fc.constant("10.20.0.0/24"),
          internal: fc.boolean(),
        }, { requiredKeys: ["name"], noNullPrototype: true }),
        { maxLength: 1 },
      ),
      user: fc.constantFrom("0", "root", "1000"),
      env: dictionary(
        fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !k.includes("=") && !k.includes("\0")),
        text,
      ),
      init: fc.boolean(),
      restartPolicy: fc.constantFrom("no", "always", "unless-stopped", "on-failure", "on-failure:3", "on-failure:0"),
      stopSignal: fc.constantFrom("SIGQUIT", "term", "15", "SIGRTMIN+3"),
      stopTimeout: fc.integer({ min: 0, max: 600 }),
      memory: fc.constantFrom("64m", "1g", 67108864),
      cpus: fc.constantFrom(0.5, 1, 2.25),
      cpuShares: fc.integer({ min: 2, max: 262144 }),
      cpusetCpus: fc.constantFrom("0", "0-1,3"),
      pidsLimit: fc.integer({ min: 1, max: 1000 }),
      shmSize: fc.constantFrom("64m", "128m", 1024),
      labels: dictionary(fc.constantFrom("tier", "com.example.team", "a/b"), text),
      hostname: fc.constantFrom("db-1", "a.b.c", ""),
      domainname: fc.constantFrom("example.com", ""),
      extraHosts: fc.array(fc.constantFrom("db:10.0.0.5", "gw:host-gateway", "v6:::1"), { maxLength: 2 }),
      dns: fc.array(fc.constantFrom("1.1.1.1", "::1"), { maxLength: 2 }),
      dnsSearch: fc.array(fc.constantFrom("example.com", "local"), { maxLength: 2 }),
      capAdd: fc.array(fc.constantFrom("NET_ADMIN", "cap_sys_time", "ALL"), { maxLength: 2 }),
      capDrop: fc.array(fc.constantFrom("NET_RAW", "MKNOD"), { maxLength: 2 }),
      securityOpt: fc.array(fc.constantFrom("no-new-privileges", "seccomp=unconfined", "label=disable"), {
        maxLength: 2,
      }),
      readOnly: fc.boolean(),
      devices: fc.array(
        fc.record({ source: absolutePath, target: absolutePath, permissions: fc.constantFrom("r", "rw", "rwm") }, {
          requiredKeys: ["source"],
          noNullPrototype: true,
        }),
        { maxLength: 2 },
      ),
      ulimits: dictionary(
        fc.constantFrom("nofile", "nproc", "core"),
        fc.record({ soft: fc.integer({ min: -1, max: 65536 }), hard: fc.integer({ min: -1, max: 65536 }) }, {
          noNullPrototype: true,
        }),
      ),
      sysctls: dictionary(fc.constantFrom("kernel.shmmax", "fs.mqueue.msg_max"), text),
      groupAdd: fc.array(fc.constantFrom("123", "wheel"), { maxLength: 2 }),
      logging: fc.record({
        driver: fc.constantFrom("json-file", "local", "none", ""),
        options: fc.record({ "max-size": fc.constantFrom("10m", "-1"), "max-file": fc.constantFrom("3", "1") }, {
          requiredKeys: [],
          noNullPrototype: true,
        }),
      }, { noNullPrototype: true }),
      tmpfs: dictionary(absolutePath.filter((p) => p !== "/"), fc.constantFrom("", "size=16m", "size=1g,mode=1777")),
    }, { requiredKeys: ["name", "image"], noNullPrototype: true }).map((config) => {
      // networks and networkMode exclude each other: validation refuses the two together.
      if (config.networks === undefined || config.networks.length === 0) return config;
      const { networkMode: _networkMode, ...rest } = config;
      return rest;
    }),
    status: fc.record({
      id: fc.stringMatching(/^[0-9a-f]{0,12}$/),
      status: fc.constantFrom("running", "exited", "gone"),
    }, { noNullPrototype: true }),
    runtime: fc.record({
      docker: fc.record({
        host: fc.constantFrom("unix:///var/run/docker.sock", "tcp://10.0.0.1:2376"),
        registryAuth: dictionary(
          fc.constantFrom("docker.io", "quay.io"),
          fc.record({ username: name, password: text }, { noNullPrototype: true }),
        ),
      }, { noNullPrototype: true }),
    }, { noNullPrototype: true }),
  }, { requiredKeys: ["config"], noNullPrototype: true }),
  host: fc.oneof(fc.constant({ directConfig: {} }), sshConfig.map((ssh) => ({ sshConfig: ssh }))),
  configFiles: dictionary(absolutePath, text),
}, { requiredKeys: ["container", "host"], noNullPrototype: true });

const stateArbitrary: fc.Arbitrary<ContainersState> = dictionary(name, hccArbitrary);

// ---- properties ----------------------------------------------------------------------

const YAML_ALPHABET = [
  ..."abcimnoprstyz019 :-,[]{}&*!|>'\"#%@`?\n\t$/.\\~=",
  "${env:SET}",
  "${env:NOPE}",
  "\n  ",
  "\n- ",
  ": ",
  "---",
  "<<: ",
  "!!str ",
  "&a ",
  "*a",
];

describe("readers under fuzzing", () => {
  afterAll(() => {
    const seconds = ((Date.now() - stats.startedAt) / 1000).toFixed(1);
    console.log(
      `fuzz: ${stats.cases} documents (${stats.readings} readings, ${stats.rejected} rejected) in ${seconds} s, slowest case ${
        Math.round(stats.slowestMs)
      } ms`,
    );
  });

  test(
    "parseDocument(), configFromDocument() and stateFromDocument() only throw ValidationError on random YAML text",
    () => {
      const yamlText = fc.array(fc.constantFrom(...YAML_ALPHABET), { maxLength: 60 }).map((parts) => parts.join(""));
      fc.assert(fc.property(fc.oneof(yamlText, fc.string({ unit: "binary", maxLength: 80 })), (t) => throughText(t)), {
        numRuns: 1000,
      });
    },
    TEST_TIMEOUT_MS,
  );

  test("configFromDocument() and stateFromDocument() only throw ValidationError on random values", () => {
    fc.assert(fc.property(anyValue, (value) => throughEveryReader(value)), { numRuns: 500 });
  }, TEST_TIMEOUT_MS);

  test("configFromDocument() and stateFromDocument() only throw ValidationError on mutated valid documents", () => {
    for (const seed of SEEDS) expect(() => throughEveryReader(seed)).not.toThrow();
    const mutated = fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 })).map((
      [seed, ms],
    ) => mutate(seed, ms));
    fc.assert(
      fc.property(mutated, fc.boolean(), (doc, asText) => {
        if (!asText) return throughEveryReader(doc);
        let yamlText: string;
        try {
          yamlText = stringify(doc, { version: "1.2" });
        } catch {
          return throughEveryReader(doc);
        }
        throughText(yamlText);
      }),
      { numRuns: 1300 },
    );
  }, TEST_TIMEOUT_MS);

  test(
    "stateToYaml() output of generated valid states reads back as the same state, in the yaml library's bytes",
    () => {
      fc.assert(
        fc.property(stateArbitrary, (state) => {
          stats.cases++;
          const start = performance.now();
          const text = stateToYaml(state);
          const back = stateFromDocument(parseDocument(text, "state.yaml"), "state.yaml");
          expect(back).toEqual(stripSecrets(state));
          // core/yaml-emit.ts writes the bytes the yaml library wrote before it.
          expect(text).toBe(
            libraryYaml(stateDocument(state)),
          );
          for (const hcc of Object.values(state)) {
            expect(configHash(canonicalConfig(hcc.container.config))).toBe(configHash(hcc.container.config));
          }
          expect(performance.now() - start).toBeLessThan(RUNAWAY_CASE_MS);
        }),
        { numRuns: 200 },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

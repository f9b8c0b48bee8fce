/**
 * berth's config.yaml: hosts once, containers by name, SSH defaults shared.
 *
 * ```yaml
 * # Defaults merged into every ssh host (and every bastion in a jump list).
 * # Fields: user, port, privateKeyPath, privateKey, password, passphrase,
 * # agent, connectionTimeout, retryTimeout, retryInterval, knownHostsFile,
 * # hostKeyPolicy (strict | accept-new | insecure), jump.
 * ssh:
 *   user: root
 *   privateKeyPath: ~/.ssh/id_ed25519        # "~" is the home directory; relative paths are relative to the config file
 *   passphrase: ${env:BERTH_KEY_PASSPHRASE}  # secrets come from the environment, never from the state file
 *   hostKeyPolicy: strict
 *
 * hosts:
 *   local: { direct: {} }                    # this machine
 *   node1: { ssh: { address: 198.18.0.11 } }
 *   node2: { ssh: { address: 198.18.0.12, port: 2222, user: admin } }
 *   node3:                                   # through a bastion (like ProxyJump), outermost first
 *     ssh: { address: 198.18.1.13, jump: [ { address: 198.18.0.10 } ] }
 *
 * runtime:                                   # default runtime of every container (optional)
 *   docker: { host: unix:///var/run/docker.sock }
 *
 * pull: missing                              # default pull policy of every container (optional, see pull: below)
 *
 * volumes:                                   # named volumes, created on each host where a container mounts one
 *   etcd-data: {}                            # driver local, no options
 *   shared: { driver: local, options: { type: nfs, o: "addr=10.0.0.5,rw", device: ":/export" } }
 *                                            # a volume whose name leaves volumes: is removed (the plan warns)
 *
 * rollout:                                   # changes roll out host by host (optional; default: all hosts at once)
 *   batch: 1                                 # hosts per batch, in hosts: order: a number, or "25%" of the hosts with changes
 *   pause: 10s                               # wait between two batches; the first batch with a failure stops the rollout
 *
 * networks:                                  # user-defined networks, created on each host where a container joins one
 *   backend: { driver: bridge, subnet: 10.20.0.0/24, internal: false }   # subnet: needed for static addresses
 *                                            # a network whose name leaves networks: is removed (the plan warns)
 *
 * containers:
 *   etcd:                                    # the container's name unless name: is set
 *     host: node1                            # a name from hosts:
 *     dependsOn: [web]                       # started only after these (any host) are done or already run unchanged
 *     image: quay.io/coreos/etcd:v3.5.9
 *     entrypoint: [/usr/local/bin/etcd]
 *     args: [--name, etcd, --data-dir, /var/lib/etcd]
 *     workingDir: /var/lib/etcd                # absolute; the image's when not set
 *     env: { ETCD_LOG_LEVEL: info }
 *     ports: [ { port: 2379, ip: 0.0.0.0 }, { port: 2380, protocol: tcp } ]
 *     mounts:
 *       - { source: /var/lib/etcd/, target: /var/lib/etcd }          # bind mount; source ending in "/": created when missing
 *       - { source: /etc/ssl/certs, target: /etc/ssl/certs, readOnly: true, propagation: rslave }
 *       - { type: tmpfs, target: /run/etcd, size: 64m, mode: "700" }  # no size: unlimited; mode "1777" by default
 *       - { type: volume, source: etcd-data, target: /var/lib/etcd-backup }  # a name from volumes:; kept on removal
 *     networkMode: host                      # also pidMode, ipcMode
 *     user: "0"
 *     group: "0"
 *     privileged: false
 *     init: true                             # an init as PID 1, so stops are quick
 *     restartPolicy: on-failure:5            # unless-stopped (default), no, always, on-failure[:N]; changed in place
 *     stopSignal: SIGQUIT                    # the image's (else SIGTERM) when not set
 *     stopTimeout: 30                        # seconds from the stop signal to SIGKILL (berth's stops too)
 *     recreateOrder: start-first             # or stop-first; default: start-first unless host ports, networkMode host
 *                                            # or a static address would clash, or on CRI (README "Recreates without downtime")
 *     memory: 512m                           # sizes: bytes, or a whole number and k, m, g (binary); 512M, 512mb refused
 *     memoryReservation: 256m
 *     memorySwap: 1g                         # -1: unlimited swap; twice memory when not set
 *     cpus: 1.5
 *     cpuShares: 512                         # relative weight; 1024 is the engine's default
 *     cpusetCpus: "0-1"
 *     pidsLimit: 200
 *     shmSize: 128m                          # /dev/shm; 64m when not set
 *     labels: { com.example.team: infra }    # the user's own; "berth." keys are reserved
 *     hostname: etcd-1
 *     domainname: example.com
 *     extraHosts: ["registry:10.0.0.5"]      # /etc/hosts entries, name:address (or host-gateway)
 *     dns: [10.0.0.53]
 *     dnsSearch: [example.com]
 *     capAdd: [NET_ADMIN]                    # capabilities(7) names, CAP_ prefix optional; unknown names refused
 *     capDrop: [NET_RAW]
 *     securityOpt: [no-new-privileges]       # also seccomp=..., apparmor=..., label=..., systempaths=unconfined
 *     readOnly: true                         # read-only root file system
 *     devices: [ { source: /dev/fuse, target: /dev/fuse, permissions: rwm } ]   # absolute paths
 *     ulimits: { nofile: { soft: 1024, hard: 4096 } }
 *     sysctls: { kernel.shmmax: "68719476736" }  # namespaced only: IPC kernel.*, fs.mqueue.*, net.* (not with networkMode host)
 *     groupAdd: ["123"]
 *     tmpfs: { /run/scratch: "size=64m,mode=1777" }
 *     logging: { driver: json-file, options: { max-size: 50m, max-file: "5" } }   # default: json-file, 10m x 3 files
 *     healthcheck:                           # Docker's (CRI: berth runs it through exec); a change recreates
 *       test: [etcdctl, endpoint, health]    # a list runs as it is, a string with /bin/sh -c; exit 0 is healthy
 *       interval: 10s                        # defaults: interval 30s, timeout 30s, retries 3, startPeriod 0s
 *       startPeriod: 20s
 *     gate: { healthy: true, timeout: 2m }   # what apply waits for after a start: healthy (the default with a
 *                                            # healthcheck), running: 10s, tcp: PORT or none: true; timeout 60s
 *     pull: always                           # missing (default): pull when absent; always: pull on every create, and
 *                                            # plan asks the registry (Docker) whether the tag moved; never: must be there
 *     configFiles:                           # written on the host before the container is created
 *       /etc/etcd/etcd.conf: |
 *         name: etcd
 *   web:
 *     name: web-1                            # container name differs from the key
 *     host: local
 *     image: nginx:1.25
 *     networks: [ { name: backend, aliases: [web], ipv4Address: 10.20.0.5 } ]   # names from networks:; not with networkMode
 *     gate: { tcp: 80, timeout: 30s }        # port 80 on 127.0.0.1 as the host sees it (over SSH: from its sshd)
 *     runtime:                               # merged over the top-level runtime's docker settings
 *       docker:
 *         registryAuth:
 *           docker.io: { username: me, password: "${env:REGISTRY_PASSWORD}" }   # quote references inside { }
 * ```
 *
 * Shared fragments: top-level keys starting with `x-` are ignored (as in
 * compose files), so they can hold YAML anchors that containers reuse with
 * merge keys; the container's own fields win over the merged ones:
 *
 * ```yaml
 * hosts: { node1: { ssh: { address: 198.18.0.11 } } }
 * x-defaults: &defaults { host: node1, restartPolicy: always, env: { TZ: UTC } }
 * containers:
 *   api: { <<: *defaults, image: example/api:1 }
 *   jobs: { <<: [*defaults], image: example/jobs:1, restartPolicy: on-failure }
 * ```
 *
 * Secrets: any string value may contain `${env:NAME}`, replaced by that
 * environment variable when the config is read (an unset variable is a
 * problem); `$${env:NAME}` writes a literal `${env:NAME}`. Local paths
 * (`privateKeyPath`, `knownHostsFile`, Docker `tls` files) expand `~` and
 * resolve relative paths against the config file's directory.
 *
 * Host settings are the `ssh:` defaults overridden field by field by the
 * host's own `ssh:`; a host's `jump` replaces the default `jump`, and each
 * bastion is the defaults overridden by its own fields. flexkube's documents
 * (`previousState`/`desiredState`, and the CLI's `containers:` groups) are
 * accepted as they are.
 *
 * Each container field is declared once in `core/fields.ts`; the JSON Schema
 * of this format is `schema/config.schema.json` (see {@link configSchema}).
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import process from "node:process";
import { checkBackend } from "./backend-config.ts";
import { copyData, hostFromDocument } from "./document-to-model.ts";
import { type Environment, resolveEnvReferences } from "./env-reference.ts";
import { CONTAINER_CONFIG_FIELDS, withConfigLimits } from "./fields.ts";
import { CONTAINER_NAME } from "./rules.ts";
import { checkDependsOn, dependsOnCheck } from "./depends-on.ts";
import { type Rollout, rolloutCheck, rolloutFromDocument } from "./rollout.ts";
import { isFlexkubeDocument, readFlexkubeDocument } from "./flexkube-document.ts";
import type {
  ContainerConfig,
  ContainersState,
  Host,
  HostConfiguredContainer,
  RuntimeConfig,
  SensitiveMarks,
  SSHConfig,
} from "./model.ts";
import { type Problem, throwIfProblems } from "./problem.ts";
import {
  at,
  boolean,
  type Check,
  checkFields,
  describe,
  type Fields,
  fieldsSchema,
  isMapping,
  type JsonSchema,
  mapOf,
  mapping,
  own,
  quote,
  report,
  type Rule,
  string,
  withSchema,
} from "./shape.ts";
import { suggest } from "./suggest.ts";
import {
  checkConfigFiles,
  checkDuplicateNames,
  checkRuntime,
  containerNameRule,
  hostCheck,
  type NamedContainer,
  sshFields,
} from "./validate.ts";
import { expandHome } from "./home.ts";
import { hostLabel } from "./host.ts";
import {
  applyNetworkDeclarations,
  checkNetworkReferences,
  type NetworkDeclaration,
  networksCheck,
} from "./networks.ts";
import { applyVolumeDeclarations, checkVolumeReferences, type VolumeDeclaration, volumesCheck } from "./volumes.ts";

/** What a config document declares. */
export interface BerthConfig {
  /** The containers the hosts should run, by name. */
  desiredState: ContainersState;
  /** Set only when a flexkube document carries a recorded state. */
  previousState?: ContainersState;
  /**
   * The named volumes declared under `volumes:` (berth's format only): a
   * volume the state's containers mounted whose name is not here is removed.
   */
  volumes?: string[];
  /** How changes roll out across hosts (`rollout:`); all hosts at once when not set. */
  rollout?: Rollout;
  /** The networks declared under `networks:` (berth's format only), likewise for networks the state's containers joined. */
  networks?: string[];
}

/** Options of {@link configFromDocument}. */
export interface ConfigOptions {
  /** Variables for `${env:NAME}` references and `HOME`; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory relative local paths resolve against (the config file's); default the working directory. */
  baseDir?: string;
}

const CONFIG_KEYS = Object.keys(CONTAINER_CONFIG_FIELDS) as Array<keyof ContainerConfig>;
const CONFIG_INDEX = new Map(CONFIG_KEYS.map((key, i) => [key as string, i]));

/** The config fields (but name) a checked entry sets, in declared order; its own keys are a few of the ~60. */
function configKeysOf(entry: Raw): Array<keyof ContainerConfig> {
  const present: number[] = [];
  let sorted = true;
  for (const key of Object.keys(entry)) {
    const index = CONFIG_INDEX.get(key);
    if (index === undefined || key === "name" || entry[key] === undefined) continue;
    if (present.length > 0 && index < (present[present.length - 1] as number)) sorted = false;
    present.push(index);
  }
  if (!sorted) present.sort((a, b) => a - b);
  return present.map((i) => CONFIG_KEYS[i] as keyof ContainerConfig);
}

const { required: _nameRequired, ...NAME_FIELD } = CONTAINER_CONFIG_FIELDS["name"] as Fields[string];

/** An entry's host: a name from hosts: (checkHostReferences says which). */
const hostNameRule: Rule = (name) => (name === "" ? "set host: to a name from hosts:" : undefined);

const SECRET_FILE_FIELDS: Fields = {
  content: { check: string(), required: "set the file's content", description: "The file's content." },
  secret: { check: boolean, description: "The content is a secret: never stored or printed, only its digest." },
};
const checkSecretFile = mapping(SECRET_FILE_FIELDS);

/** Config files: path -> content, or path -> {content, secret}. */
const configFilesCheck: Check = withSchema(
  (value, path, problems) => {
    if (!isMapping(value)) return checkConfigFiles(value, path, problems);
    const plain = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isMapping(v) ? "" : v]));
    checkConfigFiles(plain, path, problems);
    for (const [k, v] of Object.entries(value)) if (isMapping(v)) checkSecretFile(v, at(path, k), problems);
  },
  () => ({
    ...checkConfigFiles.schema,
    additionalProperties: { anyOf: [{ type: "string" }, fieldsSchema(SECRET_FILE_FIELDS)] },
  }),
);

const CONTAINER_FIELDS: Fields = {
  ...CONTAINER_CONFIG_FIELDS,
  name: NAME_FIELD,
  host: {
    check: string(hostNameRule, { minLength: 1 }),
    required: "set host: to a name from hosts:",
    description: "A name from hosts:.",
  },
  secretEnv: {
    check: CONTAINER_CONFIG_FIELDS["env"]?.check as Check,
    description: "Environment variables whose values are secrets: never stored or printed, only their digests.",
    sensitive: "always",
  },
  configFiles: {
    check: configFilesCheck,
    description:
      "Files written on the host before the container is created: absolute path -> content, or {content, secret: true}.",
    sensitive: "when-referenced",
  },
  runtime: { check: checkRuntime, description: "This container's runtime, merged over the top-level runtime:." },
  dependsOn: {
    check: dependsOnCheck,
    description:
      "Containers (names of containers:, on any host) this one is created or started after; not part of its identity.",
  },
};

const NAME_KEYS = { pattern: CONTAINER_NAME.source };

const TOP_FIELDS: Fields = {
  ssh: {
    check: mapping(sshFields("defaults")),
    description: "Defaults merged into every ssh host and every bastion in a jump list.",
  },
  hosts: {
    check: mapOf(
      containerNameRule,
      hostCheck(["direct"], ["ssh"]),
      "hosts (name: {direct: {}} or {ssh: {address: ...}})",
      NAME_KEYS,
    ),
    description: "The machines: name -> direct: {} (this machine) or ssh: {address, ...}.",
  },
  runtime: { check: checkRuntime, description: "Default runtime of every container: docker or kubelet." },
  pull: {
    check: CONTAINER_CONFIG_FIELDS["pull"]?.check as Check,
    description: "Default pull policy of every container (missing, always, never); a container's own pull: wins.",
  },
  rollout: {
    check: rolloutCheck,
    description:
      'Changes roll out in batches of hosts (hosts: order): {batch: 1 or "25%", pause: 10s}; all hosts at once when not set.',
  },
  backend: {
    check: checkBackend, // read by cli/state-backend.ts
    description:
      "Where the state is kept when --state is not given: etcd: {endpoints, prefix, ca, cert, key, user, password, lockTtl}.",
  },
  networks: {
    check: networksCheck,
    description:
      "User-defined networks: name -> {driver, subnet, internal}; created on each host where a container joins one.",
  },
  volumes: {
    check: volumesCheck,
    description: "Named volumes: name -> {driver, options}; created on each host where a container mounts one.",
  },
  containers: {
    check: mapOf(
      containerNameRule,
      withConfigLimits(mapping(CONTAINER_FIELDS)),
      "containers (name: {host, image, ...})",
      NAME_KEYS,
    ),
    required: "set containers: (name: {host, image, ...}), or {} for none",
    description: "The containers the hosts should run, by name.",
  },
};

/** Any string may be a `${env:NAME}` reference, resolved before validation: a pattern or a fixed set allows one. */
function allowReferences(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (out.items !== undefined) out.items = allowReferences(out.items);
  if (out.properties !== undefined) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, allowReferences(v)]));
  }
  if (typeof out.additionalProperties === "object") {
    out.additionalProperties = allowReferences(out.additionalProperties);
  }
  if (out.type !== "string" || (out.pattern === undefined && out.enum === undefined)) return out;
  const { description, ...rest } = out;
  return {
    ...(description === undefined ? {} : { description }),
    anyOf: [rest, { type: "string", pattern: "\\$\\{(?:env|file):[^}]+\\}" }],
  };
}

/**
 * The JSON Schema of berth's config.yaml, from the same declarations the
 * validator runs (core/fields.ts for container fields). Looser than the
 * validator where a rule is code (image references, cross-references to
 * hosts:); flexkube's documents, also accepted as configs, are not described.
 * Shipped as `schema/config.schema.json` (`npm run schema` writes it).
 */
export function configSchema(): JsonSchema & Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "berth config.yaml",
    description: "Hosts once, containers by name, SSH defaults shared. Reference: core/config.ts.",
    ...allowReferences(fieldsSchema(TOP_FIELDS)),
    patternProperties: { [EXTENSION_KEY.source]: { description: "A shared fragment (for anchors), ignored." } },
  };
}

type Raw = Record<string, unknown>;

/** Top-level keys for shared fragments (`x-defaults: &defaults {...}`), as compose allows: ignored once parsed. */
const EXTENSION_KEY = /^x-/;

/** The document without its top-level `x-*` fragments (what they anchor was merged where used, at parse time). */
function withoutExtensions(doc: unknown): unknown {
  if (!isMapping(doc) || !Object.keys(doc).some((k) => EXTENSION_KEY.test(k))) return doc;
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !EXTENSION_KEY.test(k)));
}

function checkHostReferences(doc: Raw, problems: Problem[]): void {
  const hosts = own(doc, "hosts");
  const containers = own(doc, "containers");
  const known = isMapping(hosts) ? Object.keys(hosts) : [];
  const isKnown = new Set(known);
  if (!isMapping(containers)) return;
  for (const name of Object.keys(containers)) {
    const entry = containers[name];
    const host = isMapping(entry) ? own(entry, "host") : undefined;
    if (typeof host !== "string" || host === "" || isKnown.has(host)) continue;
    const guess = suggest(host, known);
    const fix = guess !== undefined
      ? `did you mean \`${guess}\`?`
      : known.length > 0
      ? `use one of ${known.join(", ")}`
      : "define it under hosts:";
    report(problems, at(at("containers", name), "host"), `host ${quote(host)} is not defined under hosts:; ${fix}`);
  }
}

function mergeSsh(defaults: SSHConfig | undefined, hostSsh: SSHConfig): SSHConfig {
  const { jump: defaultJump, ...base } = defaults ?? ({} as Partial<SSHConfig>);
  const { jump, ...fields } = hostSsh;
  const merged: SSHConfig = { ...base, ...fields };
  const bastions = jump ?? defaultJump;
  return bastions === undefined ? merged : { ...merged, jump: bastions.map((bastion) => ({ ...base, ...bastion })) };
}

/** A container's runtime: its own settings merged over the top-level ones of the same runtime; its own choice of runtime wins. */
function mergeRuntime(top: RuntimeConfig | undefined, entry: RuntimeConfig | undefined): RuntimeConfig | undefined {
  if (top === undefined && entry === undefined) return undefined;
  const kind = entry?.kubelet !== undefined
    ? "kubelet"
    : entry?.docker !== undefined
    ? "docker"
    : top?.kubelet !== undefined
    ? "kubelet"
    : "docker";
  return kind === "kubelet"
    ? { kubelet: { ...(top?.kubelet ?? {}), ...(entry?.kubelet ?? {}) } }
    : { docker: { ...(top?.docker ?? {}), ...(entry?.docker ?? {}) } };
}

function buildHosts(doc: Raw): Map<string, Host> {
  const defaults = own(doc, "ssh") as SSHConfig | undefined;
  const hosts = new Map<string, Host>();
  for (const [name, spec] of Object.entries((own(doc, "hosts") ?? {}) as Record<string, Raw>)) {
    const host = hostFromDocument(spec);
    hosts.set(name, host.sshConfig === undefined ? host : { sshConfig: mergeSsh(copyData(defaults), host.sshConfig) });
  }
  return hosts;
}

/** `secretEnv:` merged into `env:`, config files as path -> content, and what of them is secret. */
function secretsOf(
  entry: Raw,
  where: string,
  referenced: ReadonlySet<string>,
  problems: Problem[],
): { env?: Record<string, string>; configFiles?: Record<string, string>; sensitive?: SensitiveMarks } {
  const env = own(entry, "env") as Record<string, string> | undefined;
  const secretEnv = own(entry, "secretEnv") as Record<string, string> | undefined;
  const files = own(entry, "configFiles") as Record<string, string | { content: string; secret?: boolean }> | undefined;
  // Most entries: no secret and no reference, so nothing to mark (the general case below is 10 objects each).
  if (secretEnv === undefined && files === undefined && referenced.size === 0) {
    return env === undefined ? {} : { env: copyData(env) };
  }
  for (const name of Object.keys(secretEnv ?? {})) {
    if (env !== undefined && Object.hasOwn(env, name)) {
      report(problems, at(at(where, "secretEnv"), name), `${name} is also under env:; keep it in one of the two`);
    }
  }
  // A path is made only when the config has references at all (most have none).
  const isReferenced = (path: () => string) => referenced.size > 0 && referenced.has(path());
  const envMarks = [
    ...Object.keys(env ?? {}).filter((k) => isReferenced(() => at(at(where, "env"), k))),
    ...Object.keys(secretEnv ?? {}),
  ];
  const fileMarks = Object.entries(files ?? {}).filter(([k, v]) =>
    typeof v === "object"
      ? v.secret === true || isReferenced(() => at(at(at(where, "configFiles"), k), "content"))
      : isReferenced(() => at(at(where, "configFiles"), k))
  ).map(([k]) => k);
  const merged = env === undefined && secretEnv === undefined
    ? undefined
    : { ...copyData(env), ...copyData(secretEnv) };
  return {
    ...(merged === undefined ? {} : { env: merged }),
    ...(files === undefined ? {} : {
      configFiles: Object.fromEntries(
        Object.entries(files).map(([k, v]) => [k, typeof v === "object" ? v.content : v]),
      ),
    }),
    ...(envMarks.length === 0 && fileMarks.length === 0 ? {} : {
      sensitive: {
        ...(envMarks.length === 0 ? {} : { env: envMarks.sort() }),
        ...(fileMarks.length === 0 ? {} : { configFiles: fileMarks.sort() }),
      },
    }),
  };
}

function readBerthConfig(doc: unknown, problems: Problem[], referenced: ReadonlySet<string>): ContainersState {
  if (!isMapping(doc)) {
    report(problems, "", `expected a config with hosts: and containers:, got ${describe(doc)}`);
    return {};
  }
  const start = problems.length;
  checkFields(doc, "", problems, TOP_FIELDS);
  checkHostReferences(doc, problems);
  checkVolumeReferences(doc, problems);
  checkNetworkReferences(doc, problems);
  if (problems.length > start) return {};

  const hosts = buildHosts(doc);
  const topRuntime = own(doc, "runtime") as RuntimeConfig | undefined;
  const topPull = own(doc, "pull");
  const state: ContainersState = {};
  const named: NamedContainer[] = [];
  const dependencies: Record<string, string[] | undefined> = {};
  const containers = own(doc, "containers") as Record<string, Raw>;
  for (const key of Object.keys(containers)) {
    const entry = containers[key] as Raw;
    const where = at("containers", key);
    const { env, configFiles, sensitive } = secretsOf(entry, where, referenced, problems);
    // Assigned in this order so the keys are in it: name, the top-level pull, the fields as declared, env.
    const config: Record<string, unknown> = { name: own(entry, "name") ?? key };
    if (topPull !== undefined) config["pull"] = topPull;
    for (const k of configKeysOf(entry)) config[k] = copyData(entry[k]);
    if (env !== undefined) config["env"] = env;
    const runtime = mergeRuntime(copyData(topRuntime), copyData(own(entry, "runtime") as RuntimeConfig | undefined));
    const dependsOn = own(entry, "dependsOn") as string[] | undefined;
    const container: HostConfiguredContainer["container"] = { config: config as unknown as ContainerConfig };
    if (runtime !== undefined) container.runtime = runtime;
    const hcc: HostConfiguredContainer = { container, host: copyData(hosts.get(own(entry, "host") as string) as Host) };
    if (configFiles !== undefined) hcc.configFiles = configFiles;
    if (sensitive !== undefined) hcc.sensitive = sensitive;
    if (dependsOn !== undefined) hcc.dependsOn = [...dependsOn];
    // Plain stores (a define was a slow call per container): a checked key is a container name, never __proto__.
    state[key] = hcc;
    dependencies[key] = hcc.dependsOn;
    named.push({ path: at(where, "name"), where, hcc });
  }
  checkDuplicateNames(named, problems);
  checkDependsOn(dependencies, (key) => at(at("containers", key), "dependsOn"), problems);
  applyVolumeDeclarations(state, (own(doc, "volumes") ?? {}) as Record<string, VolumeDeclaration>);
  applyNetworkDeclarations(state, (own(doc, "networks") ?? {}) as Record<string, NetworkDeclaration>);
  return state;
}

/** The labels of the hosts of `hosts:`, in their order there: the order a rollout takes them in. */
function hostOrder(doc: Raw): string[] {
  return [...new Set([...buildHosts(doc).values()].map(hostLabel))];
}

function localPath(path: string, env: Environment, baseDir: string): string {
  const expanded = expandHome(path, env);
  return isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
}

function resolveSshPaths(ssh: SSHConfig, expand: (path: string) => string): SSHConfig {
  // No local path: nothing to make absolute (every container's host was a copy of its own already).
  if (ssh.privateKeyPath === undefined && ssh.knownHostsFile === undefined && ssh.jump === undefined) return ssh;
  const out: SSHConfig = { ...ssh };
  if (ssh.privateKeyPath !== undefined) out.privateKeyPath = expand(ssh.privateKeyPath);
  if (ssh.knownHostsFile !== undefined) out.knownHostsFile = expand(ssh.knownHostsFile);
  if (ssh.jump !== undefined) out.jump = ssh.jump.map((bastion) => resolveSshPaths(bastion, expand));
  return out;
}

function resolveLocalPaths(state: ContainersState, expand: (path: string) => string): void {
  for (const hcc of Object.values(state)) {
    if (hcc.host.sshConfig !== undefined) hcc.host.sshConfig = resolveSshPaths(hcc.host.sshConfig, expand);
    const tls = hcc.container.runtime?.docker?.tls;
    if (tls === undefined) continue;
    for (const key of ["ca", "cert", "key"] as const) {
      const path = tls[key];
      if (path !== undefined) tls[key] = expand(path);
    }
  }
}

/**
 * Reads a config document: berth's format (see the module doc), or
 * flexkube's (`previousState`/`desiredState`, or CLI `containers:` groups).
 *
 * @param doc What `parseDocument` returned.
 * @param source Where it came from, such as `config.yaml`, for messages.
 * @param options `env` for `${env:NAME}` and `HOME`, `baseDir` for relative paths.
 * @returns The desired state (and a flexkube document's recorded state), with
 *   each SSH host's settings fully merged and local paths made absolute.
 * @throws {ValidationError} Listing every problem with its path.
 *
 * @example
 * ```ts
 * import { configFromDocument } from "./config.ts";
 * const doc = {
 *   ssh: { user: "core", password: "${env:PW}" },
 *   hosts: { node1: { ssh: { address: "198.18.0.11" } } },
 *   containers: { etcd: { host: "node1", image: "quay.io/coreos/etcd:v3.5.9" } },
 * };
 * const { desiredState } = configFromDocument(doc, "config.yaml", { env: { PW: "s3cret" } });
 * if (desiredState["etcd"]?.host.sshConfig?.password !== "s3cret") throw new Error("wrong");
 * ```
 */
export function configFromDocument(doc: unknown, source: string, options: ConfigOptions = {}): BerthConfig {
  const env: Environment = options.env ?? process.env;
  const problems: Problem[] = [];
  const baseDir = options.baseDir ?? process.cwd();
  const referenced = new Set<string>();
  const resolved = resolveEnvReferences(withoutExtensions(doc), "", env, problems, { baseDir, referenced });
  let config: BerthConfig;
  if (isFlexkubeDocument(resolved)) {
    const containers = readFlexkubeDocument(resolved, problems, "desiredState");
    const previous = containers.previousState;
    config = {
      desiredState: containers.desiredState ?? {},
      ...(previous === undefined || Object.keys(previous).length === 0 ? {} : { previousState: previous }),
    };
  } else {
    const desiredState = readBerthConfig(resolved, problems, referenced);
    const declared = (section: string) =>
      isMapping(resolved) && isMapping(own(resolved, section))
        ? Object.keys(own(resolved, section) as Record<string, unknown>).sort()
        : [];
    const rollout = isMapping(resolved) && problems.length === 0 ? own(resolved, "rollout") : undefined;
    config = {
      desiredState,
      volumes: declared("volumes"),
      networks: declared("networks"),
      ...(isMapping(rollout) ? { rollout: rolloutFromDocument(rollout, hostOrder(resolved as Raw)) } : {}),
    };
  }
  throwIfProblems(problems, source);
  const expand = (path: string) => localPath(path, env, baseDir);
  resolveLocalPaths(config.desiredState, expand);
  if (config.previousState !== undefined) resolveLocalPaths(config.previousState, expand);
  return config;
}

/**
 * The container config's fields, declared once each. Validation (and the
 * JSON Schema, from the same checks), default normalisation for the identity
 * hash and diffs, the order in state.yaml, and what is a secret all follow
 * from {@link CONTAINER_FIELDS}; each runtime maps every field to its API in
 * one place (`runtimes/docker/create-body.ts`, `runtimes/kubelet/pod-spec.ts`).
 *
 * Adding a field: its type in `ContainerConfig` (core/model.ts), its
 * declaration here, and its mapping (or refusal) in each runtime; the
 * compiler and `tests/unit/fields.test.ts` fail until all are there. Then
 * `npm run schema` rewrites `schema/config.schema.json`
 * (`tests/unit/config-schema.test.ts` fails while it is stale).
 *
 * @module
 */
import type { ContainerConfig, Device, Logging, Mount, NetworkAttachment, PortMap, Ulimit } from "./model.ts";
import {
  absolutePathRule,
  capabilityRule,
  CONTAINER_NAME,
  containerNameRule,
  cpusetRule,
  DEFAULT_LOG_ROTATION,
  devicePermissionsRule,
  dnsNameRule,
  dnsServerRule,
  envNameRule,
  extraHostRule,
  fileLogOptionRule,
  imageRule,
  inSubnet,
  ipRule,
  ipv4Rule,
  ipv4SubnetRule,
  labelKeyRule,
  logDriverRule,
  modeRule,
  mountTargetRule,
  networkNameRule,
  oneOf,
  plainUserRule,
  restartPolicyRule,
  securityOptRule,
  sizeInBytes,
  sizeRule,
  stopSignalRule,
  sysctlRule,
  tmpfsOptionsRule,
  ulimitNameRule,
  volumeNameRule,
} from "./rules.ts";
import type { Problem } from "./problem.ts";
import { checkGateLimits, GATE_FIELD, HEALTHCHECK_FIELD } from "./gate-fields.ts";
import {
  at,
  boolean,
  type Check,
  describe,
  type Fields,
  fieldsSchema,
  integer,
  type JsonSchema,
  listOf,
  mapOf,
  mapping,
  quote,
  report,
  type Rule,
  schemaOf,
  type Sensitivity,
  string,
  withSchema,
} from "./shape.ts";

export type { Sensitivity };

/** The values of `pull:`. */
export const PULL_POLICIES = ["missing", "always", "never"] as const;

/** One field of the container config. */
export interface FieldDeclaration<V> {
  /** What the field is: the JSON Schema's description. */
  description: string;
  /** Validation of a present value (problems name the path and the fix); its `schema` is the field's JSON Schema. */
  check: Check;
  /** Set for required fields: the fix shown when the field is missing. */
  required?: string;
  /**
   * Default normalisation: the value in canonical form (sets sorted, default
   * parts dropped), or `undefined` when it means the same as leaving the field out.
   */
  canonical: (value: V) => V | undefined;
  /** The value as written to state.yaml (item keys in declared order, maps sorted); as it is when absent. */
  serialize?: (value: V) => V;
  /** Part of the identity hash: a change recreates the container (and shows in the plan's diff). */
  identity: boolean;
  /**
   * Set on fields the engine changes on a running container (`POST
   * /containers/{id}/update`), which are then not part of the identity hash: a
   * change is planned as `update`. `when-set`: the engine cannot clear the
   * setting (its update reads 0 as "unchanged"), so removing it recreates.
   */
  inPlace?: "always" | "when-set";
  /** Whether the value is a secret; see {@link Sensitivity}. */
  sensitive: Sensitivity;
}

/** Every field of `ContainerConfig`, each declared once; the order is the order in state.yaml. */
export type ContainerFieldTable = {
  readonly [K in keyof ContainerConfig]-?: FieldDeclaration<NonNullable<ContainerConfig[K]>>;
};

// ---- normalisation helpers ---------------------------------------------------

const DOCKER_HUB_PREFIXES = ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"];

/**
 * The short form Docker itself shows for an image: `docker.io/library/busybox:latest` -> `busybox`.
 *
 * @example
 * ```ts
 * import { canonicalImage } from "./fields.ts";
 * if (canonicalImage("docker.io/library/busybox:latest") !== "busybox") throw new Error("wrong");
 * ```
 */
export function canonicalImage(image: string): string {
  let short = image;
  const prefix = DOCKER_HUB_PREFIXES.find((p) => short.startsWith(p));
  if (prefix !== undefined) short = short.slice(prefix.length);
  if (!short.includes("@") && short.endsWith(":latest")) short = short.slice(0, -":latest".length);
  return short;
}

/** Sorts by a string key. */
export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/** A string field whose empty value (and the given defaults) mean "not set". */
function text(...defaults: string[]): (value: string) => string | undefined {
  return (value) => (value === "" || defaults.includes(value) ? undefined : value);
}

function nonEmptyList<T>(value: T[]): T[] | undefined {
  return value.length > 0 ? [...value] : undefined;
}

function onlyTrue(value: boolean): boolean | undefined {
  return value === true ? true : undefined;
}

function sortedMap<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(byKey(([k]) => k)));
}

/** Copies the fields that are set, in the order `fields` declares them. */
function inDeclaredOrder<T extends object>(value: T, fields: Fields): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = field;
  }
  return out as T;
}

/** A string from a fixed set (`""` too when `emptyAllowed`). */
function choice(what: string, allowed: readonly string[], emptyAllowed: boolean): Check {
  return string(oneOf(what, allowed, emptyAllowed), { enum: emptyAllowed ? ["", ...allowed] : allowed });
}

const NAME = CONTAINER_NAME.source.slice(1, -1);

/** A namespace mode, as {@link modeRule} accepts it. */
function mode(what: string, keywords: readonly string[], networkNames: boolean): Check {
  const shapes = [...keywords, `container:${NAME}`, ...(networkNames ? [NAME] : [])];
  return string(modeRule(what, keywords, networkNames), { pattern: `^(?:${shapes.join("|")})?$` });
}

const ABSOLUTE = { pattern: "^/" };

const MIB = 1024 ** 2;

/** A size: bytes, or a string such as `512m`; `-1` too when `unlimited`. */
function size(what: string, min: number, unlimited = false): Check {
  const rule = sizeRule(what, min);
  return withSchema((value, path, problems) => {
    if (unlimited && value === -1) return;
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < min) {
        report(
          problems,
          path,
          `expected ${what} in bytes from ${min}${
            unlimited ? " (or -1: unlimited)" : ""
          }, or a size such as "512m"; got ${value}`,
        );
      }
    } else if (typeof value === "string") {
      const message = rule(value);
      if (message !== undefined) report(problems, path, message);
    } else {
      report(problems, path, `expected ${what} such as "512m" or "1g", got ${describe(value)}`);
    }
  }, {
    anyOf: [
      { type: "integer", minimum: unlimited ? -1 : min },
      { type: "string", pattern: "^\\d{1,15}[kmg]?$" },
    ],
  });
}

/** Sizes hash and compare as bytes: `1g` and `1024m` are the same limit. */
function bytes(value: number | string): number | undefined {
  const n = value === -1 ? -1 : sizeInBytes(value);
  return n === 0 ? undefined : n;
}

/** A decimal number of CPUs. */
const cpuCount: Check = withSchema((value, path, problems) => {
  const hint = typeof value === "string" && /^\d+(?:\.\d+)?$/.test(value) ? `; write ${value} without quotes` : "";
  if (typeof value !== "number" || !(value > 0 && value <= 4096) || Math.round(value * 1e9) / 1e9 !== value) {
    report(
      problems,
      path,
      `expected a number of CPUs such as 0.5 or 2 (above 0, at most 9 decimals), got ${describe(value)}${hint}`,
    );
  }
}, { type: "number", minimum: 0, maximum: 4096 });
const strings = listOf(string(), "strings");

// ---- the fields ----------------------------------------------------------------

const PORT_FIELDS: Fields = {
  ip: { check: string(ipRule), description: "Host address to bind; all addresses when empty." },
  port: {
    check: integer(1, 65535, "a port number"),
    required: "set the port to publish, such as 8080",
    description: "Port number on the host and in the container.",
  },
  protocol: { check: choice("protocol", ["tcp", "udp", "sctp"], true), description: "tcp (default), udp or sctp." },
};

const MOUNT_FIELDS: Fields = {
  type: {
    check: choice("mount type", ["bind", "volume", "tmpfs"], false),
    description: "bind (default), volume or tmpfs.",
  },
  source: {
    check: string(),
    description:
      'Bind mounts: host path (ending in "/" makes it a directory, created when missing); volumes: the volume\'s name.',
  },
  target: {
    check: string(mountTargetRule, ABSOLUTE),
    required: 'set the path in the container, such as "/data"',
    description: "Path in the container.",
  },
  readOnly: { check: boolean, description: "Mounted read-only." },
  propagation: {
    check: choice("propagation", ["rprivate", "private", "rshared", "shared", "rslave", "slave"], true),
    description: "Bind mounts: mount propagation; rprivate when empty.",
  },
  size: {
    check: size("a tmpfs size", 1),
    description: 'tmpfs: size limit, bytes or such as "64m"; none when not set.',
  },
  mode: {
    check: string(
      (mode) =>
        /^[0-7]{3,4}$/.test(mode) ? undefined : `${quote(mode)} is not an octal mode: write such as "1777" or "700"`,
      { pattern: "^[0-7]{3,4}$" },
    ),
    description: 'tmpfs: permission bits in octal, quoted ("1777", the default).',
  },
  driver: {
    check: string(),
    description:
      "Volumes: driver the volume is created with when missing (local when not set); berth's config sets it under volumes:.",
  },
  driverOptions: {
    check: mapOf((key) => (key === "" ? "option names cannot be empty" : undefined), string(), "driver options"),
    description: "Volumes: the driver's options when the volume is created.",
  },
};

const VOLUME_NAME = "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$";

/** Which fields each mount type takes, beyond `type`, `target` and `readOnly`. */
const MOUNT_TYPE_FIELDS: Record<
  string,
  { required: string[]; allowed: string[]; example: string; source?: Rule }
> = {
  bind: {
    required: ["source"],
    allowed: ["source", "propagation"],
    example: 'source: "/var/lib/app/"',
    source: absolutePathRule,
  },
  volume: {
    required: ["source"],
    allowed: ["source", "driver", "driverOptions"],
    example: "source: data (a name from volumes:)",
    source: volumeNameRule,
  },
  tmpfs: { required: [], allowed: ["size", "mode"], example: "size: 64m" },
};

/** One schema per mount type: the fields it takes, its source's form, what it requires. */
function mountSchema(): JsonSchema {
  return {
    anyOf: Object.entries(MOUNT_TYPE_FIELDS).map(([type, { required, allowed, source }]) => {
      const fields: Record<string, Fields[string]> = {};
      for (const key of ["type", "source", "target", "readOnly", ...allowed]) {
        const field = MOUNT_FIELDS[key] as Fields[string];
        fields[key] = key === "type"
          ? { ...field, check: choice("mount type", [type], false), ...(type !== "bind" && { required: "set type" }) }
          : key === "source"
          ? {
            ...field,
            check: string(source, type === "bind" ? ABSOLUTE : { pattern: VOLUME_NAME }),
            ...(required.includes("source") && { required: "set source" }),
          }
          : field;
      }
      return fieldsSchema(fields);
    }),
  };
}

/** A mount's fields, then the ones its type needs or does not take. */
function checkMount(value: unknown, path: string, problems: Problem[]): void {
  const before = problems.length;
  mapping(MOUNT_FIELDS)(value, path, problems);
  if (problems.length > before) return;
  const mount = value as Mount;
  const type = mount.type ?? "bind";
  const fields = MOUNT_TYPE_FIELDS[type] as (typeof MOUNT_TYPE_FIELDS)[string];
  for (const key of fields.required) {
    if ((mount as unknown as Record<string, unknown>)[key] === undefined) {
      report(problems, at(path, key), `a ${type} mount needs ${key}: set it, such as ${fields.example}`);
    }
  }
  const sourceProblem = mount.source === undefined ? undefined : fields.source?.(mount.source);
  if (sourceProblem !== undefined) report(problems, at(path, "source"), sourceProblem);
  const others = Object.keys(MOUNT_TYPE_FIELDS).filter((t) => t !== type);
  for (const key of Object.keys(mount)) {
    const owner = others.find((t) => MOUNT_TYPE_FIELDS[t]?.allowed.includes(key));
    if (owner !== undefined && !fields.allowed.includes(key)) {
      report(
        problems,
        at(path, key),
        `${key} is for ${owner} mounts, this one is ${type}: remove ${key}${
          type === "bind" ? `, or set type: ${owner}` : ""
        }`,
      );
    }
  }
}

const NETWORK_FIELDS: Fields = {
  name: {
    check: string(networkNameRule, { pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$" }),
    required: "set the network's name, such as backend (a name from networks:)",
    description: "The network (berth's config: a name from networks:).",
  },
  aliases: {
    check: listOf(string(dnsNameRule("alias")), "aliases"),
    description: "Other names the container has on the network.",
  },
  ipv4Address: { check: string(ipv4Rule), description: "Static IPv4 address in the network's subnet." },
  driver: { check: string(), description: "Driver the network is created with (bridge when not set)." },
  subnet: { check: string(ipv4SubnetRule), description: "Subnet the network is created with (CIDR)." },
  internal: { check: boolean, description: "Created internal: no route out." },
};

/** The attachments' fields; a network joined twice; a static address outside the subnet. */
function checkNetworks(value: unknown, path: string, problems: Problem[]): void {
  const before = problems.length;
  listOf(mapping(NETWORK_FIELDS), "networks")(value, path, problems);
  if (problems.length > before) return;
  const seen = new Set<string>();
  (value as NetworkAttachment[]).forEach((network, index) => {
    const where = at(path, index);
    if (seen.has(network.name)) {
      report(problems, at(where, "name"), `network ${quote(network.name)} is joined twice: merge the two items`);
    }
    seen.add(network.name);
    const { ipv4Address: ip, subnet } = network;
    if (ip !== undefined && subnet !== undefined && !inSubnet(ip, subnet)) {
      report(
        problems,
        at(where, "ipv4Address"),
        `${quote(ip)} is not in the network's subnet ${subnet}: pick one in it`,
      );
    }
  });
}

function canonicalNetwork(network: NetworkAttachment): NetworkAttachment {
  const aliases = [...new Set(network.aliases ?? [])].sort();
  return {
    name: network.name,
    ...(aliases.length > 0 && { aliases }),
    ...(network.ipv4Address !== undefined && network.ipv4Address !== "" && { ipv4Address: network.ipv4Address }),
  };
}

const DEVICE_FIELDS: Fields = {
  source: {
    check: string(absolutePathRule, ABSOLUTE),
    required: 'set the device path on the host, such as "/dev/fuse"',
    description: "Device path on the host.",
  },
  target: {
    check: string(absolutePathRule, ABSOLUTE),
    description: "Path in the container; the host path when not set.",
  },
  permissions: {
    check: string(devicePermissionsRule, { pattern: "^[rwm]{1,3}$" }),
    description: "Cgroup permissions, letters of rwm (the default).",
  },
};

const ULIMIT_FIELDS: Fields = {
  soft: { check: integer(-1, Number.MAX_SAFE_INTEGER, "a limit"), required: "set the soft limit (-1: unlimited)" },
  hard: { check: integer(-1, Number.MAX_SAFE_INTEGER, "a limit"), required: "set the hard limit (-1: unlimited)" },
};

function canonicalDevice(device: Device): Device {
  const target = device.target === undefined || device.target === "" || device.target === device.source
    ? {}
    : { target: device.target };
  const permissions = device.permissions === undefined || device.permissions === "" ||
      [...device.permissions].sort().join("") === "mrw"
    ? {}
    : { permissions: [...device.permissions].sort().join("") };
  return { source: device.source, ...target, ...permissions };
}

/** Capability names as the engine reports them: upper case, with the CAP_ prefix (ALL as it is), sorted. */
function canonicalCapabilities(caps: string[]): string[] | undefined {
  const names = caps.map((c) => c.toUpperCase().replace(/^CAP_/, "")).map((c) => c === "ALL" ? c : `CAP_${c}`);
  return nonEmptyList([...new Set(names)].sort());
}

const LOGGING_FIELDS: Fields = {
  driver: { check: string(logDriverRule), description: "Logging driver: json-file (default), local, journald, ..." },
  options: {
    check: mapOf((key) => (key === "" ? "option names cannot be empty" : undefined), string(), "driver options"),
    description: "Driver options, such as max-size and max-file.",
  },
};

/** The logging settings as the engine gets them: json-file's options over its default rotation. */
export function effectiveLogging(logging: Logging | undefined): { driver: string; options: Record<string, string> } {
  const driver = logging?.driver === undefined || logging.driver === "" ? "json-file" : logging.driver;
  const options = driver === "json-file" ? { ...DEFAULT_LOG_ROTATION, ...logging?.options } : { ...logging?.options };
  return { driver, options: sortedMap(options) };
}

/** json-file and local options berth can check: their names, and the sizes and counts they take. */
function checkLogging(value: unknown, path: string, problems: Problem[]): void {
  mapping(LOGGING_FIELDS)(value, path, problems);
  if (problems.some((p) => p.path.startsWith(path))) return;
  const logging = value as Logging;
  const driver = effectiveLogging(logging).driver;
  if (driver !== "json-file" && driver !== "local") return;
  for (const [key, option] of Object.entries(logging.options ?? {})) {
    const where = at(at(path, "options"), key);
    const message = fileLogOptionRule(key) ??
      (key === "max-size" && option !== "-1" && !/^\d+[kmg]?$/.test(option)
        ? `${quote(option)} is not a size: write a whole number and k, m or g, such as "10m" (or -1: no limit)`
        : key === "max-file" && !/^[1-9]\d*$/.test(option)
        ? `${quote(option)} is not a number of files: write a whole number from 1, such as "3"`
        : undefined);
    if (message !== undefined) report(problems, where, message);
  }
}

function canonicalPort(port: PortMap): PortMap {
  return {
    port: port.port,
    ...(port.ip === undefined || port.ip === "" ? {} : { ip: port.ip }),
    ...(port.protocol === undefined || port.protocol === "tcp" || (port.protocol as string) === ""
      ? {}
      : { protocol: port.protocol }),
  };
}

/**
 * A bind mount keeps the form it had before mount types existed, so existing
 * containers' identity stays. A volume's driver and options are not part of
 * it: they only matter when the volume is created, and an existing volume keeps its own.
 */
function canonicalMount(mount: Mount): Mount {
  const propagation = mount.propagation;
  const size = mount.size === undefined ? undefined : sizeInBytes(mount.size);
  const mode = mount.mode === undefined ? undefined : mount.mode.replace(/^0(?=\d{3})/, "");
  return {
    ...(mount.type !== undefined && mount.type !== "bind" && { type: mount.type }),
    ...(mount.source !== undefined && { source: mount.source }),
    target: mount.target,
    ...(mount.readOnly === true && { readOnly: true }),
    ...(propagation === undefined || propagation === "" || propagation === "rprivate" ? {} : { propagation }),
    ...(size !== undefined && { size }),
    ...(mode !== undefined && mode !== "1777" && { mode }),
  };
}

/** The container config's fields. */
export const CONTAINER_FIELDS: ContainerFieldTable = {
  name: {
    description: "Container name on the host; the key under containers: when not set.",
    check: string(containerNameRule, { pattern: CONTAINER_NAME.source }),
    required: "set the container name",
    canonical: (name) => name,
    identity: true,
    sensitive: "never",
  },
  image: {
    description: "Image to run: [registry/]repository[:tag][@digest].",
    check: string(imageRule, { pattern: "^\\S+$" }),
    required: 'set the image to run, such as "busybox:1.36"',
    canonical: canonicalImage,
    identity: true,
    sensitive: "never",
  },
  args: {
    description: "Arguments (Docker Cmd), replacing the image's.",
    check: strings,
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  entrypoint: {
    description: "Entrypoint, replacing the image's.",
    check: strings,
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  workingDir: {
    description: "Working directory of the process in the container (absolute); the image's when not set.",
    check: string(absolutePathRule, ABSOLUTE),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  ports: {
    description: "Published ports: host ip:port -> container port.",
    check: listOf(mapping(PORT_FIELDS), "ports"),
    canonical: (ports) =>
      nonEmptyList(ports.map(canonicalPort).sort(byKey((p) => JSON.stringify([p.port, p.protocol ?? "", p.ip ?? ""])))),
    serialize: (ports) => ports.map((port) => inDeclaredOrder(port, PORT_FIELDS)),
    identity: true,
    sensitive: "never",
  },
  mounts: {
    description: "Mounts: bind mounts (the default), named volumes and tmpfs.",
    check: listOf(withSchema(checkMount, mountSchema), "mounts"),
    canonical: (mounts) =>
      nonEmptyList(mounts.map(canonicalMount).sort(byKey((m) => JSON.stringify([m.target, m.source ?? ""])))),
    serialize: (mounts) => mounts.map((mount) => inDeclaredOrder(mount, MOUNT_FIELDS)),
    identity: true,
    sensitive: "never",
  },
  privileged: {
    description: "Run privileged.",
    check: boolean,
    canonical: onlyTrue,
    identity: true,
    sensitive: "never",
  },
  networkMode: {
    description: "host, none, bridge, default, container:<name> or a network name.",
    check: mode("network mode", ["host", "none", "bridge", "default"], true),
    canonical: text("default"),
    identity: true,
    sensitive: "never",
  },
  networks: {
    description: "User-defined networks joined, not with networkMode: [{name, aliases, ipv4Address}].",
    check: withSchema(checkNetworks, () => schemaOf(listOf(mapping(NETWORK_FIELDS), "networks"), "networks")),
    // The network's driver, subnet and internal flag are not part of it: they only matter when it is created.
    canonical: (networks) => nonEmptyList(networks.map(canonicalNetwork).sort(byKey((n) => n.name))),
    serialize: (networks) => networks.map((network) => inDeclaredOrder(network, NETWORK_FIELDS)),
    identity: true,
    sensitive: "never",
  },
  pidMode: {
    description: "host or container:<name>.",
    check: mode("pid mode", ["host"], false),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  ipcMode: {
    description: "none, private, shareable, host or container:<name>.",
    check: mode("ipc mode", ["none", "private", "shareable", "host"], false),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  user: {
    description: "User name or id to run as (the group goes in group:).",
    check: string(plainUserRule("user"), { pattern: "^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$" }),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  group: {
    description: "Group name or id to run as.",
    check: string(plainUserRule("group"), { pattern: "^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$" }),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  env: {
    description: "Environment variables: name -> value.",
    check: mapOf(envNameRule, string(), "environment variables", { pattern: "^[^=\\u0000]+$" }),
    canonical: (env) => (Object.keys(env).length > 0 ? sortedMap(env) : undefined),
    serialize: sortedMap,
    identity: true,
    sensitive: "when-referenced",
  },
  init: {
    description: "Run an init process as PID 1 (docker --init), so stops are quick.",
    check: boolean,
    canonical: onlyTrue,
    identity: true,
    sensitive: "never",
  },
  restartPolicy: {
    description: "unless-stopped (default), no, always, on-failure or on-failure:N (at most N restarts).",
    check: string(restartPolicyRule, { pattern: "^(?:no|always|unless-stopped|on-failure(?::\\d{1,9})?)$" }),
    canonical: (policy) => policy === "unless-stopped" ? undefined : policy.replace(/^on-failure:0+$/, "on-failure"),
    identity: false,
    inPlace: "always",
    sensitive: "never",
  },
  stopSignal: {
    description: "Signal that stops the container (SIGTERM, SIGQUIT, 15...); the image's, else SIGTERM, when not set.",
    check: string(stopSignalRule, { pattern: "^(?:[A-Za-z0-9+-]+)$" }),
    canonical: (signal) =>
      signal === "" ? undefined : /^\d+$/.test(signal) ? signal : `SIG${signal.toUpperCase().replace(/^SIG/, "")}`,
    identity: true,
    sensitive: "never",
  },
  stopTimeout: {
    description: "Seconds from the stop signal to SIGKILL, when berth or the engine stops the container.",
    check: integer(0, 86400, "a number of seconds"),
    canonical: (seconds) => seconds,
    identity: true,
    sensitive: "never",
  },
  memory: {
    description: 'Memory limit: bytes or a size such as "512m", "1g" (binary units).',
    check: size("a memory limit", 6 * MIB),
    canonical: bytes,
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  memoryReservation: {
    description: 'Soft memory limit: bytes or a size such as "256m".',
    check: size("a memory reservation", 6 * MIB),
    canonical: bytes,
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  memorySwap: {
    description: "Memory plus swap limit, a size; -1 for unlimited swap; twice memory when not set.",
    check: size("a memory plus swap limit", 6 * MIB, true),
    canonical: bytes,
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  cpus: {
    description: "CPUs, a decimal such as 1.5.",
    check: cpuCount,
    canonical: (cpus) => cpus,
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  cpuShares: {
    description: "Relative CPU weight, from 2 to 262144 (the engine's default is 1024).",
    check: integer(2, 262144, "a CPU weight"),
    canonical: (shares) => (shares === 1024 ? undefined : shares),
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  cpusetCpus: {
    description: 'CPUs the container may run on, such as "0-1,3".',
    check: string(cpusetRule, { pattern: "^(?:\\d+(?:-\\d+)?(?:,\\d+(?:-\\d+)?)*)?$" }),
    canonical: text(),
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  pidsLimit: {
    description: "Most processes in the container.",
    check: integer(1, 4194304, "a process limit"),
    canonical: (limit) => limit,
    identity: false,
    inPlace: "when-set",
    sensitive: "never",
  },
  shmSize: {
    description: 'Size of /dev/shm, such as "256m" (the engine\'s default is 64m).',
    check: size("a /dev/shm size", 1),
    canonical: (value) => {
      const n = bytes(value);
      return n === 64 * MIB ? undefined : n;
    },
    identity: true,
    sensitive: "never",
  },
  labels: {
    description: 'Labels of the user\'s own: key -> value ("berth." keys are reserved).',
    check: mapOf(labelKeyRule, string(), "labels", { pattern: "^(?![Bb][Ee][Rr][Tt][Hh]\\.)[^\\s=]+$" }),
    canonical: (labels) => (Object.keys(labels).length > 0 ? sortedMap(labels) : undefined),
    serialize: sortedMap,
    identity: true,
    sensitive: "never",
  },
  hostname: {
    description: "Host name inside the container.",
    check: string(dnsNameRule("host name")),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  domainname: {
    description: "Domain name inside the container.",
    check: string(dnsNameRule("domain name")),
    canonical: text(),
    identity: true,
    sensitive: "never",
  },
  extraHosts: {
    description: 'Extra /etc/hosts entries, "name:address".',
    check: listOf(string(extraHostRule, { pattern: "^[A-Za-z0-9.-]+:.+$" }), "name:address entries"),
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  dns: {
    description: "DNS server addresses.",
    check: listOf(string(dnsServerRule), "addresses"),
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  dnsSearch: {
    description: "DNS search domains.",
    check: listOf(string(dnsNameRule("search domain")), "domains"),
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  capAdd: {
    description: "Capabilities to add, such as NET_ADMIN (the CAP_ prefix is optional), or ALL.",
    check: listOf(string(capabilityRule, { pattern: "^[A-Za-z_]+$" }), "capabilities"),
    canonical: canonicalCapabilities,
    identity: true,
    sensitive: "never",
  },
  capDrop: {
    description: "Capabilities to drop, such as NET_RAW, or ALL.",
    check: listOf(string(capabilityRule, { pattern: "^[A-Za-z_]+$" }), "capabilities"),
    canonical: canonicalCapabilities,
    identity: true,
    sensitive: "never",
  },
  securityOpt: {
    description:
      "Security options: no-new-privileges, seccomp=PROFILE, apparmor=PROFILE, label=..., systempaths=unconfined.",
    check: listOf(string(securityOptRule, { pattern: "^[a-z-]+(?:[=:].+)?$" }), "security options"),
    canonical: (opts) => nonEmptyList([...opts].sort()),
    identity: true,
    sensitive: "never",
  },
  readOnly: {
    description: "Read-only root file system.",
    check: boolean,
    canonical: onlyTrue,
    identity: true,
    sensitive: "never",
  },
  devices: {
    description: "Host devices given to the container.",
    check: listOf(mapping(DEVICE_FIELDS), "devices"),
    canonical: (devices) => nonEmptyList(devices.map(canonicalDevice).sort(byKey((d) => d.target ?? d.source))),
    serialize: (devices) => devices.map((device) => inDeclaredOrder(device, DEVICE_FIELDS)),
    identity: true,
    sensitive: "never",
  },
  ulimits: {
    description: "Resource limits by name (nofile, nproc, ...): soft and hard, -1 for unlimited.",
    check: mapOf(ulimitNameRule, mapping(ULIMIT_FIELDS), "ulimits", { pattern: "^[a-z]+$" }),
    canonical: (limits) =>
      Object.keys(limits).length > 0
        ? sortedMap(
          Object.fromEntries(
            Object.entries(limits).map(([k, v]): [string, Ulimit] => [k, { soft: v.soft, hard: v.hard }]),
          ),
        )
        : undefined,
    serialize: (limits) =>
      sortedMap(Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, inDeclaredOrder(v, ULIMIT_FIELDS)]))),
    identity: true,
    sensitive: "never",
  },
  sysctls: {
    description: "Namespaced kernel parameters: net.*, fs.mqueue.* and the IPC ones (kernel.shmmax, ...).",
    check: mapOf(sysctlRule, string(), "kernel parameters", { pattern: "^(?:net\\.|fs\\.mqueue\\.|kernel\\.)" }),
    canonical: (sysctls) => (Object.keys(sysctls).length > 0 ? sortedMap(sysctls) : undefined),
    serialize: sortedMap,
    identity: true,
    sensitive: "never",
  },
  groupAdd: {
    description: "Extra groups of the process: names or ids.",
    check: listOf(
      string(
        (
          group,
        ) => (group === ""
          ? "an empty group: write a group name or id, or remove the item"
          : plainUserRule("group")(group)),
        { pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]*$" },
      ),
      "groups",
    ),
    canonical: nonEmptyList,
    identity: true,
    sensitive: "never",
  },
  tmpfs: {
    description: 'tmpfs mounts: path in the container -> mount options ("size=64m,mode=1777", or "").',
    check: mapOf(mountTargetRule, string(tmpfsOptionsRule), "tmpfs mounts", ABSOLUTE),
    canonical: (mounts) => (Object.keys(mounts).length > 0 ? sortedMap(mounts) : undefined),
    serialize: sortedMap,
    identity: true,
    sensitive: "never",
  },
  logging: {
    description: "Logging driver and options; json-file rotated at max-size 10m, max-file 3 when not set.",
    check: withSchema(checkLogging, () => schemaOf(mapping(LOGGING_FIELDS), "logging")),
    // The default (json-file, rotated) hashes as "not set", so containers made before it keep their identity.
    canonical: (logging) => {
      const effective = effectiveLogging(logging);
      return JSON.stringify(effective) === JSON.stringify(effectiveLogging(undefined)) ? undefined : effective;
    },
    serialize: (logging) => inDeclaredOrder(logging, LOGGING_FIELDS),
    identity: true,
    sensitive: "never",
  },
  healthcheck: HEALTHCHECK_FIELD,
  gate: GATE_FIELD,
  pull: {
    description:
      "When apply pulls the image: missing (default), always (and plan asks the registry whether the tag moved), never.",
    check: choice("pull policy", PULL_POLICIES, false),
    // Not identity: changing the policy changes what apply does next, not the container.
    canonical: (policy) => (policy === "missing" ? undefined : policy),
    identity: false,
    sensitive: "never",
  },
};

type AnyField = FieldDeclaration<unknown>;

/** The table's entries, in declared order, typed for generic use. */
export function containerFields(): Array<[keyof ContainerConfig, AnyField]> {
  return Object.entries(CONTAINER_FIELDS) as Array<[keyof ContainerConfig, AnyField]>;
}

/**
 * The fields the engine changes in place, canonical (defaults dropped): what
 * an `update` compares and sends.
 */
export function inPlaceSettings(config: Partial<ContainerConfig>): Partial<ContainerConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of containerFields()) {
    const value = config[key];
    const canonical = value === undefined || field.inPlace === undefined ? undefined : field.canonical(value);
    if (canonical !== undefined) out[key] = canonical;
  }
  // The engine sets swap to twice the memory when it is not given: written or not, that is the same.
  if (out["memorySwap"] !== undefined && out["memorySwap"] === 2 * (out["memory"] as number)) delete out["memorySwap"];
  return out as Partial<ContainerConfig>;
}

/**
 * `check` (a container config's fields), then the limits the engine checks
 * against each other, so a config it would refuse fails validation instead
 * of the apply.
 */
export function withConfigLimits(check: Check): Check {
  return withSchema((value, path, problems) => {
    const before = problems.length;
    check(value, path, problems);
    if (problems.length === before) checkConfigLimits(value as ContainerConfig, path, problems);
  }, () => schemaOf(check, "config"));
}

function checkConfigLimits(config: ContainerConfig, path: string, problems: Problem[]): void {
  const memory = config.memory === undefined ? undefined : sizeInBytes(config.memory);
  const reservation = config.memoryReservation === undefined ? undefined : sizeInBytes(config.memoryReservation);
  const swap = config.memorySwap === undefined || config.memorySwap === -1 ? undefined : sizeInBytes(config.memorySwap);
  if (memory !== undefined && reservation !== undefined && reservation > memory) {
    report(
      problems,
      at(path, "memoryReservation"),
      `must not be above memory (${config.memory}): lower it, or raise memory`,
    );
  }
  if (config.memorySwap !== undefined && memory === undefined) {
    report(problems, at(path, "memorySwap"), "needs memory: set memory too (memorySwap is memory plus swap)");
  } else if (memory !== undefined && swap !== undefined && swap < memory) {
    report(
      problems,
      at(path, "memorySwap"),
      `is memory plus swap, so at least memory (${config.memory}): raise it, or use -1 for unlimited swap`,
    );
  }
  if (config.networks !== undefined && config.networks.length > 0 && config.networkMode !== undefined) {
    report(
      problems,
      at(path, "networkMode"),
      "networks and networkMode exclude each other: remove networkMode (networks joins user-defined networks; networkMode is for host, none, container:NAME)",
    );
  }
  checkGateLimits(config, path, problems);
  if (config.networkMode === "host") {
    for (const key of Object.keys(config.sysctls ?? {}).filter((k) => k.startsWith("net."))) {
      report(
        problems,
        at(at(path, "sysctls"), key),
        "with networkMode host the network parameters are the host's: remove it, or set it on the host",
      );
    }
  }
}

/** The table as validation fields (check, required, description, sensitive). */
export const CONTAINER_CONFIG_FIELDS: Fields = Object.fromEntries(
  containerFields().map(([key, field]) => [
    key,
    {
      check: field.check,
      description: field.description,
      sensitive: field.sensitive,
      ...(field.required === undefined ? {} : { required: field.required }),
    },
  ]),
);

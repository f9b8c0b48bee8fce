/**
 * Validation of the containers model: every problem at once, each with its
 * path and a fix. The checks accept untyped values, so the same rules serve
 * documents read from YAML and objects built in code.
 *
 * @module
 */
import { isIP } from "node:net";
import { parseDuration } from "./duration.ts";
import { runtimeIdentity } from "./hash.ts";
import { hostKey } from "./host.ts";
import { type Containers, FILE_HELPER_PREFIX, type HostConfiguredContainer } from "./model.ts";
import { type Problem, ValidationError } from "./problem.ts";
import {
  at,
  boolean,
  type Check,
  checkFields,
  describe,
  type Fields,
  integer,
  isMapping,
  listOf,
  mapOf,
  mapping,
  own,
  quote,
  report,
  type Rule,
  string,
} from "./shape.ts";

export { type Problem, ValidationError };

// ---- rules for strings -------------------------------------------------------

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Docker-compatible container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export const containerNameRule: Rule = (name) => {
  if (name === "") return "set a container name";
  if (name.startsWith(FILE_HELPER_PREFIX)) {
    return `${
      quote(name)
    } starts with "${FILE_HELPER_PREFIX}", which berth keeps for its file helper containers: choose another name`;
  }
  return CONTAINER_NAME.test(name)
    ? undefined
    : `${quote(name)} is not a valid name: use letters, digits, "_", "." and "-", starting with a letter or digit`;
};

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::\d+)?$/;
const IPV6_DOMAIN = /^\[[0-9a-fA-F:]+\](?::\d+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function isImageReference(image: string): boolean {
  if (IMAGE_ID.test(image)) return true;
  let rest = image;
  const atSign = rest.indexOf("@");
  if (atSign >= 0) {
    if (!DIGEST.test(rest.slice(atSign + 1))) return false;
    rest = rest.slice(0, atSign);
  }
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    if (!TAG.test(rest.slice(colon + 1))) return false;
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0 || rest.length > 255) return false;
  const components = rest.split("/");
  const first = components[0] as string;
  if (
    components.length > 1 &&
    (first.includes(".") || first.includes(":") || first.startsWith("[") || first === "localhost")
  ) {
    if (!DOMAIN.test(first) && !IPV6_DOMAIN.test(first)) return false;
    components.shift();
  }
  return components.every((c) => PATH_COMPONENT.test(c));
}

/** A plausible image reference: `[registry/]repository[:tag][@digest]` or an image id. */
const imageRule: Rule = (image) => {
  if (image === "") return 'set the image to run, such as "busybox:1.36"';
  if (/\s/.test(image)) return `image ${quote(image)} contains whitespace; remove it`;
  return isImageReference(image)
    ? undefined
    : `${
      quote(image)
    } is not a valid image reference: use [registry/]repository[:tag][@digest] with a lowercase repository`;
};

function hasDotSegments(path: string): boolean {
  return path.split("/").some((segment) => segment === ".." || segment === ".");
}

/** An absolute path on the host or in the container, without `..`. */
const absolutePathRule: Rule = (path) => {
  if (!path.startsWith("/")) return `expected an absolute path (starting with "/"), got ${quote(path)}`;
  if (path.includes("\0")) return "paths cannot contain NUL characters";
  if (hasDotSegments(path)) return `${quote(path)} contains "." or ".." segments; write the path without them`;
  return undefined;
};

/** A config file path: absolute and normalised, not `/`. */
const configFilePathRule: Rule = (path) => {
  const base = absolutePathRule(path);
  if (base !== undefined) return base;
  if (path === "/") return 'a config file path cannot be "/"; name the file, such as "/etc/app/app.conf"';
  if (path.includes("//") || path.endsWith("/")) {
    return `${quote(path)} is not normalised: write it without "//" and without a trailing "/"`;
  }
  return undefined;
};

const mountTargetRule: Rule = (path) =>
  absolutePathRule(path) ?? (path === "/" ? 'a mount target cannot be "/"' : undefined);

const envNameRule: Rule = (name) => {
  if (name === "") return "environment variable names cannot be empty";
  if (name.includes("=")) {
    return `environment variable name ${quote(name)} contains "="; put the value on the right-hand side`;
  }
  if (name.includes("\0")) return "environment variable names cannot contain NUL characters";
  return undefined;
};

function oneOf(what: string, allowed: readonly string[], emptyAllowed: boolean): Rule {
  return (value) => {
    if (value === "" && emptyAllowed) return undefined;
    return allowed.includes(value)
      ? undefined
      : `${quote(value)} is not a valid ${what}: use one of ${allowed.join(", ")}`;
  };
}

const ipRule: Rule = (ip) => (ip === "" || isIP(ip) !== 0 ? undefined : `${quote(ip)} is not an IPv4 or IPv6 address`);

function modeRule(what: string, keywords: readonly string[], networkNames: boolean): Rule {
  const shown = [...keywords, "container:<name>", ...(networkNames ? ["a network name"] : [])].join(", ");
  return (mode) => {
    if (mode === "" || keywords.includes(mode)) return undefined;
    if (mode.startsWith("container:") && CONTAINER_NAME.test(mode.slice("container:".length))) return undefined;
    if (networkNames && CONTAINER_NAME.test(mode)) return undefined;
    return `${quote(mode)} is not a valid ${what}: use ${shown}`;
  };
}

const PLAIN_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function plainUserRule(field: "user" | "group"): Rule {
  return (value) => {
    if (value === "") return undefined;
    if (field === "user" && value.includes(":")) return `set the group in group: instead of in user ${quote(value)}`;
    return PLAIN_USER.test(value) ? undefined : `${quote(value)} is not a plain ${field} name or id`;
  };
}

const nonEmptyRule = (what: string): Rule => (value) => (value === "" ? `set ${what}` : undefined);

const durationRule: Rule = (text) => {
  try {
    parseDuration(text);
    return undefined;
  } catch {
    return `${quote(text)} is not a duration: use a number with a unit, such as "30s", "1m" or "1m30s"`;
  }
};

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

const addressRule: Rule = (address) => {
  if (address === "") return "set the host name or IP address to connect to";
  if (isIP(address) !== 0) return undefined;
  if (/^[^:]+:\d+$/.test(address)) return `set the port in port:, not in the address ${quote(address)}`;
  const labels = address.endsWith(".") ? address.slice(0, -1).split(".") : address.split(".");
  if (address.length <= 253 && labels.every((label) => label.length <= 63 && HOST_LABEL.test(label))) return undefined;
  return `${quote(address)} is not a host name or IP address`;
};

const criAddressRule: Rule = (address) => {
  if (/^unix:\/\/\/./.test(address)) return undefined;
  return `${quote(address)} is not a CRI socket address: use "unix:///run/containerd/containerd.sock"`;
};

const dockerHostRule: Rule = (host) => {
  if (host === "" || /^unix:\/\/\/\S+$/.test(host) || /^tcp:\/\/[^/\s]+\/?$/.test(host)) return undefined;
  return `${quote(host)} is not an engine address: use "unix:///var/run/docker.sock" or "tcp://host:port"`;
};

// ---- checks for the model's parts ---------------------------------------------

const strings = listOf(string(), "strings");

const PORT_FIELDS: Fields = {
  ip: { check: string(ipRule) },
  port: { check: integer(1, 65535, "a port number"), required: "set the port to publish, such as 8080" },
  protocol: { check: string(oneOf("protocol", ["tcp", "udp", "sctp"], true)) },
};

const MOUNT_FIELDS: Fields = {
  source: { check: string(absolutePathRule), required: 'set the host path, such as "/var/lib/app/"' },
  target: { check: string(mountTargetRule), required: 'set the path in the container, such as "/data"' },
  propagation: {
    check: string(oneOf("propagation", ["rprivate", "private", "rshared", "shared", "rslave", "slave"], true)),
  },
};

/** The fields of a container config (`name` and `image` required). */
export const CONTAINER_CONFIG_FIELDS: Fields = {
  name: { check: string(containerNameRule), required: "set the container name" },
  image: { check: string(imageRule), required: 'set the image to run, such as "busybox:1.36"' },
  args: { check: strings },
  entrypoint: { check: strings },
  ports: { check: listOf(mapping(PORT_FIELDS), "ports") },
  mounts: { check: listOf(mapping(MOUNT_FIELDS), "mounts") },
  privileged: { check: boolean },
  networkMode: { check: string(modeRule("network mode", ["host", "none", "bridge", "default"], true)) },
  pidMode: { check: string(modeRule("pid mode", ["host"], false)) },
  ipcMode: { check: string(modeRule("ipc mode", ["none", "private", "shareable", "host"], false)) },
  user: { check: string(plainUserRule("user")) },
  group: { check: string(plainUserRule("group")) },
  env: { check: mapOf(envNameRule, string(), "environment variables") },
  init: { check: boolean },
};

/** Config files: absolute normalised path -> content. */
export const checkConfigFiles: Check = mapOf(configFilePathRule, string(), "config files (path: content)");

const STATUS_FIELDS: Fields = {
  id: { check: string(), required: "set the container id, or remove status" },
  status: { check: string(), required: "set the status, such as running, or remove status" },
  // Written by flexkube; berth reads and drops them.
  image: { check: string() },
  name: { check: string() },
};

const DOCKER_FIELDS: Fields = {
  host: { check: string(dockerHostRule) },
  tls: {
    check: mapping({
      ca: { check: string(nonEmptyRule("the CA certificate file")) },
      cert: { check: string(nonEmptyRule("the client certificate file")) },
      key: { check: string(nonEmptyRule("the client key file")) },
      verify: { check: boolean },
    }),
  },
  registryAuth: {
    check: mapOf(
      nonEmptyRule("the registry host, such as docker.io"),
      mapping({
        username: { check: string(), required: "set the registry user name" },
        password: { check: string(), required: "set the registry password" },
      }),
      "registry credentials",
    ),
  },
};

const KUBELET_FIELDS: Fields = {
  address: { check: string(criAddressRule) },
  configImage: { check: string(nonEmptyRule("the helper image, such as busybox")) },
  registryAuth: DOCKER_FIELDS["registryAuth"] as Fields[string],
};

/** A mapping that takes no settings; `null` (an empty YAML value) counts as empty. */
function noSettings(what: string): Check {
  return (value, path, problems) => {
    if (value === null) return;
    if (!isMapping(value)) {
      report(problems, path, `expected an empty mapping ({}), got ${describe(value)}`);
      return;
    }
    for (const key of Object.keys(value)) {
      report(problems, at(path, key), `unknown field ${quote(key)}; ${what} takes no settings`);
    }
  };
}

/** A runtime config: exactly one runtime (`docker` or `kubelet`). */
export const checkRuntime: Check = (value, path, problems) => {
  const fields: Fields = {
    docker: {
      check: (
        docker,
        dockerPath,
        found,
      ) => (docker === null ? undefined : checkFields(docker, dockerPath, found, DOCKER_FIELDS)),
    },
    kubelet: {
      check: (
        kubelet,
        kubeletPath,
        found,
      ) => (kubelet === null ? undefined : checkFields(kubelet, kubeletPath, found, KUBELET_FIELDS)),
    },
  };
  if (checkFields(value, path, problems, fields)) {
    const count = Object.keys(value).length;
    if (count === 0) report(problems, path, "set a runtime, such as docker: {}");
    if (count > 1) report(problems, path, "set exactly one runtime: docker or kubelet");
  }
};

/** Which part of an SSH config is being checked. */
export type SshConfigKind = "host" | "defaults" | "jump";

/** The fields of an SSH config; defaults have no address, bastions no jump. */
export function sshFields(kind: SshConfigKind): Fields {
  const address: Check = kind === "defaults"
    ? (_value, path, problems) =>
      report(problems, path, "set address on each host under hosts:, not in the ssh defaults")
    : string(addressRule);
  const jump: Check = kind === "jump"
    ? (_value, path, problems) =>
      report(
        problems,
        path,
        "a bastion cannot have its own jump; list every bastion, outermost first, in the host's jump",
      )
    : listOf(mapping(sshFields("jump")), "bastion hosts");
  return {
    address: kind === "defaults"
      ? { check: address }
      : { check: address, required: "set the host name or IP address to connect to" },
    port: { check: integer(1, 65535, "a port number") },
    user: {
      check: string((user) => (user === "" ? "set the user to log in as, such as root" : plainUserRule("user")(user))),
    },
    password: { check: string() },
    privateKey: { check: string() },
    privateKeyPath: { check: string(nonEmptyRule("the private key file path")) },
    passphrase: { check: string() },
    agent: { check: boolean },
    connectionTimeout: { check: string(durationRule) },
    retryTimeout: { check: string(durationRule) },
    retryInterval: { check: string(durationRule) },
    knownHostsFile: { check: string(nonEmptyRule("the known_hosts file path")) },
    hostKeyPolicy: { check: string(oneOf("host key policy", ["strict", "accept-new", "insecure"], false)) },
    jump: { check: jump },
  };
}

/**
 * A host: exactly one of a direct and an SSH transport, under the given
 * spellings (berth's model and flexkube's use different keys).
 */
export function hostCheck(directKeys: readonly string[], sshKeys: readonly string[]): Check {
  const fields: Record<string, { check: Check }> = {};
  for (const key of directKeys) fields[key] = { check: noSettings("a direct connection") };
  for (const key of sshKeys) fields[key] = { check: mapping(sshFields("host")) };
  const shown = `${directKeys[0] ?? "direct"} or ${sshKeys[0] ?? "ssh"}`;
  return (value, path, problems) => {
    if (!checkFields(value, path, problems, fields)) return;
    const set = [...directKeys, ...sshKeys].filter((key) => own(value, key) !== undefined);
    if (set.length !== 1) report(problems, path, `set exactly one of ${shown}`);
  };
}

const HOOK_FIELDS: Fields = {
  postStart: {
    check: (value, path, problems) => {
      if (typeof value !== "function") {
        report(problems, path, `expected a function, got ${describe(value)}; hooks can only be set from code`);
      }
    },
  },
};

const HCC_FIELDS: Fields = {
  container: {
    check: mapping({
      config: { check: mapping(CONTAINER_CONFIG_FIELDS), required: "set the container config (name, image, ...)" },
      status: { check: mapping(STATUS_FIELDS) },
      runtime: { check: checkRuntime },
    }),
    required: "set container: with its config",
  },
  host: {
    check: hostCheck(["directConfig", "direct"], ["sshConfig", "ssh"]),
    required: "set host: with directConfig: {} or sshConfig:",
  },
  configFiles: { check: checkConfigFiles },
  hooks: { check: mapping(HOOK_FIELDS) },
};

const checkHcc: Check = mapping(HCC_FIELDS);

// ---- whole documents ---------------------------------------------------------

/** A container to compare with others for name clashes. */
export interface NamedContainer {
  /** Where its name is, for the problem. */
  path: string;
  /** Where it is defined, shown to the other one. */
  where: string;
  hcc: HostConfiguredContainer;
}

/**
 * Reports containers that would get the same name on the same engine
 * (same host and runtime address).
 */
export function checkDuplicateNames(containers: readonly NamedContainer[], problems: Problem[]): void {
  const seen = new Map<string, NamedContainer>();
  for (const entry of containers) {
    const { hcc } = entry;
    const key = JSON.stringify([hcc.container.config.name, hostKey(hcc.host), runtimeIdentity(hcc.container.runtime)]);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, entry);
      continue;
    }
    report(
      problems,
      entry.path,
      `container name ${
        quote(hcc.container.config.name)
      } is also used by ${first.where} on the same host; give one of them another name`,
    );
  }
}

/** Normalises host spellings (`direct`/`ssh` -> `directConfig`/`sshConfig`) so checked values can be compared. */
function asModelHost(hcc: Record<string, unknown>): HostConfiguredContainer {
  const host = own(hcc, "host") as Record<string, unknown>;
  const ssh = own(host, "sshConfig") ?? own(host, "ssh");
  return {
    ...(hcc as unknown as HostConfiguredContainer),
    host: ssh === undefined ? { directConfig: {} } : { sshConfig: ssh as never },
  };
}

/**
 * Checks a map of containers (name -> HCC) and returns the entries that are
 * valid on their own, for checks across entries.
 */
export function checkContainersState(value: unknown, path: string, problems: Problem[]): NamedContainer[] {
  const valid: NamedContainer[] = [];
  if (!isMapping(value)) {
    report(problems, path, `expected a mapping of containers (name: {container, host}), got ${describe(value)}`);
    return valid;
  }
  for (const [name, hcc] of Object.entries(value)) {
    const hccPath = at(path, name);
    const found: Problem[] = [];
    const nameProblem = containerNameRule(name);
    if (nameProblem !== undefined) report(found, hccPath, nameProblem);
    checkHcc(hcc, hccPath, found);
    problems.push(...found);
    if (found.length === 0) {
      valid.push({
        path: at(at(at(hccPath, "container"), "config"), "name"),
        where: hccPath,
        hcc: asModelHost(hcc as Record<string, unknown>),
      });
    }
  }
  return valid;
}

function isEmptyState(value: unknown): boolean {
  return value === undefined || (isMapping(value) && Object.keys(value).length === 0);
}

/**
 * Checks a containers resource document under `path` (`""` for a whole
 * document) and returns the valid desired entries, for
 * {@link checkDuplicateNames} (left to the caller, which may combine groups).
 * Both states empty is a problem unless `allowEmpty` (a flexkube group
 * emptied to remove its containers).
 */
export function checkContainers(
  value: unknown,
  path: string,
  problems: Problem[],
  options: { allowEmpty?: boolean } = {},
): NamedContainer[] {
  let desired: NamedContainer[] = [];
  const fields: Fields = {
    previousState: { check: (v, p, found) => void checkContainersState(v, p, found) },
    desiredState: { check: (v, p, found) => void (desired = checkContainersState(v, p, found)) },
  };
  if (!checkFields(value, path, problems, fields)) return desired;
  if (
    options.allowEmpty !== true && isEmptyState(own(value, "previousState")) && isEmptyState(own(value, "desiredState"))
  ) {
    report(problems, at(path, "desiredState"), "set desiredState (or previousState); both are empty");
  }
  return desired;
}

/**
 * Checks a containers resource: both states, every container, names unique
 * per host in the desired state, and not both states empty.
 *
 * @param doc The resource, from a document or built in code.
 * @returns Every problem found; empty when valid.
 *
 * @example
 * ```ts
 * import { validateContainers } from "./validate.ts";
 * const problems = validateContainers({ desiredState: { a: { container: { config: { name: "a", image: "" } }, host: { directConfig: {} } } } });
 * if (problems[0]?.path !== "desiredState.a.container.config.image") throw new Error(JSON.stringify(problems));
 * ```
 */
export function validateContainers(doc: Containers): Problem[] {
  const problems: Problem[] = [];
  checkDuplicateNames(checkContainers(doc, "", problems), problems);
  return problems;
}

/**
 * Checks one host-configured container.
 *
 * @param hcc The container, from a document or built in code.
 * @param path Where it is, prefixed to every problem's path (e.g. `desiredState.etcd`).
 * @returns Every problem found; empty when valid.
 */
export function validateHostConfiguredContainer(hcc: HostConfiguredContainer, path: string): Problem[] {
  const problems: Problem[] = [];
  checkHcc(hcc, path, problems);
  return problems;
}

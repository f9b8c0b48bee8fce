/**
 * Validation of the containers model: every problem at once, each with its
 * path and a fix. The checks accept untyped values, so the same rules serve
 * documents read from YAML and objects built in code.
 *
 * @module
 */
import { checkDependsOn, dependsOnCheck } from "./depends-on.ts";
import { hostFromDocument } from "./document-to-model.ts";
import { CONTAINER_CONFIG_FIELDS, withConfigLimits } from "./fields.ts";
import { runtimeIdentity } from "./hash.ts";
import { hostKey } from "./host.ts";
import type { Containers, HostConfiguredContainer } from "./model.ts";
import { type Problem, ValidationError } from "./problem.ts";
import {
  addressRule,
  configFilePathRule,
  containerNameRule,
  criAddressRule,
  dockerHostRule,
  durationRule,
  nonEmptyRule,
  oneOf,
  plainUserRule,
} from "./rules.ts";
import {
  at,
  boolean,
  type Check,
  checkFields,
  describe,
  type Fields,
  fieldsSchema,
  integer,
  isMapping,
  listOf,
  mapOf,
  mapping,
  own,
  quote,
  report,
  string,
  withSchema,
} from "./shape.ts";

export { containerNameRule, type Problem, ValidationError };

// ---- checks for the model's parts ---------------------------------------------

/** Config files: absolute normalised path -> content. */
export const checkConfigFiles: Check = mapOf(configFilePathRule, string(), "config files (path: content)", {
  pattern: "^/",
});

const STATUS_FIELDS: Fields = {
  id: { check: string(), required: "set the container id, or remove status" },
  status: { check: string(), required: "set the status, such as running, or remove status" },
  // Written by flexkube; berth reads and drops them.
  image: { check: string() },
  name: { check: string() },
};

/** Docker runtime settings; state.yaml keeps them in this order, without the secrets. */
export const DOCKER_FIELDS: Fields = {
  host: {
    check: string(dockerHostRule, { pattern: "^(?:unix:///\\S+|tcp://[^/\\s]+/?)?$" }),
    description: "Engine address: unix:///var/run/docker.sock (default) or tcp://host:port.",
  },
  tls: {
    check: mapping({
      ca: { check: string(nonEmptyRule("the CA certificate file")) },
      cert: { check: string(nonEmptyRule("the client certificate file")) },
      key: { check: string(nonEmptyRule("the client key file")) },
      verify: { check: boolean },
    }),
    description: "TLS for tcp://: PEM file paths (ca, cert, key); verification is on when ca is given.",
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
    description: "Registry credentials by registry host (docker.io, 127.0.0.1:5000).",
    sensitive: "always",
  },
};

/** Settings of the kubelet-style (CRI) runtime; state.yaml keeps them in this order, without the secrets. */
export const KUBELET_FIELDS: Fields = {
  address: {
    check: string(criAddressRule, { pattern: "^unix:///." }),
    description: "CRI socket: unix:///run/containerd/containerd.sock (default).",
  },
  configImage: {
    check: string(nonEmptyRule("the helper image, such as busybox")),
    description: "Image of the file helper container, when the container's image lacks sh, tar and the like.",
  },
  registryAuth: DOCKER_FIELDS["registryAuth"] as Fields[string],
};

/** A mapping that takes no settings; `null` (an empty YAML value) counts as empty. */
function noSettings(what: string): Check {
  return withSchema((value, path, problems) => {
    if (value === null) return;
    if (!isMapping(value)) {
      report(problems, path, `expected an empty mapping ({}), got ${describe(value)}`);
      return;
    }
    for (const key of Object.keys(value)) {
      report(problems, at(path, key), `unknown field ${quote(key)}; ${what} takes no settings`);
    }
  }, { type: ["object", "null"], maxProperties: 0 });
}

/** A runtime's settings; `null` (an empty YAML value, `docker:`) counts as none. */
function settings(fields: Fields): Check {
  return withSchema(
    (value, path, problems) => (value === null ? undefined : void checkFields(value, path, problems, fields)),
    () => ({ ...fieldsSchema(fields), type: ["object", "null"] }),
  );
}

const RUNTIME_FIELDS: Fields = {
  docker: { check: settings(DOCKER_FIELDS) },
  kubelet: { check: settings(KUBELET_FIELDS) },
};

/** A runtime config: exactly one runtime (`docker` or `kubelet`). */
export const checkRuntime: Check = withSchema((value, path, problems) => {
  if (checkFields(value, path, problems, RUNTIME_FIELDS)) {
    const count = Object.keys(value).length;
    if (count === 0) report(problems, path, "set a runtime, such as docker: {}");
    if (count > 1) report(problems, path, "set exactly one runtime: docker or kubelet");
  }
}, () => ({ ...fieldsSchema(RUNTIME_FIELDS), minProperties: 1, maxProperties: 1 }));

const HOST_KEY_POLICIES = ["strict", "accept-new", "insecure"];

/** Refused by the schema: a field known elsewhere that is not allowed here. */
const NOTHING = { not: {} };

/** Which part of an SSH config is being checked. */
export type SshConfigKind = "host" | "defaults" | "jump";

/** The fields of an SSH config; defaults have no address, bastions no jump. */
export function sshFields(kind: SshConfigKind): Fields {
  const address: Check = kind === "defaults"
    ? withSchema(
      (_value, path, problems) =>
        report(problems, path, "set address on each host under hosts:, not in the ssh defaults"),
      NOTHING,
    )
    : string(addressRule, { minLength: 1 });
  const jump: Check = kind === "jump"
    ? withSchema(
      (_value, path, problems) =>
        report(
          problems,
          path,
          "a bastion cannot have its own jump; list every bastion, outermost first, in the host's jump",
        ),
      NOTHING,
    )
    : listOf(mapping(sshFields("jump")), "bastion hosts");
  return {
    address: kind === "defaults"
      ? { check: address }
      : { check: address, required: "set the host name or IP address to connect to", description: "Host name or IP." },
    port: { check: integer(1, 65535, "a port number"), description: "SSH port; 22 when not set." },
    user: {
      check: string((user) => (user === "" ? "set the user to log in as, such as root" : plainUserRule("user")(user))),
      description: "User to log in as.",
    },
    password: { check: string(), description: "Password; use ${env:NAME}.", sensitive: "always" },
    privateKey: { check: string(), description: "Inline private key (PEM/OpenSSH).", sensitive: "always" },
    privateKeyPath: {
      check: string(nonEmptyRule("the private key file path")),
      description: "Private key file on the machine running berth.",
    },
    passphrase: { check: string(), description: "Passphrase of the private key.", sensitive: "always" },
    agent: { check: boolean, description: "Use the agent at SSH_AUTH_SOCK (default: when the variable is set)." },
    connectionTimeout: { check: string(durationRule), description: "A duration such as 30s." },
    retryTimeout: { check: string(durationRule), description: "How long to keep retrying to connect." },
    retryInterval: { check: string(durationRule), description: "Pause between connection attempts." },
    knownHostsFile: {
      check: string(nonEmptyRule("the known_hosts file path")),
      description: "known_hosts file; ~/.ssh/known_hosts when not set.",
    },
    hostKeyPolicy: {
      check: string(oneOf("host key policy", HOST_KEY_POLICIES, false), { enum: HOST_KEY_POLICIES }),
      description: "strict (default), accept-new or insecure.",
    },
    jump: { check: jump, description: "Bastions to pass through, outermost first (like ProxyJump)." },
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
  return withSchema((value, path, problems) => {
    if (!checkFields(value, path, problems, fields)) return;
    const set = [...directKeys, ...sshKeys].filter((key) => own(value, key) !== undefined);
    if (set.length !== 1) report(problems, path, `set exactly one of ${shown}`);
  }, () => ({ ...fieldsSchema(fields), minProperties: 1, maxProperties: 1 }));
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

/** The image a container runs (state only: written by apply). */
const IMAGE_IDENTITY_FIELDS: Fields = {
  id: { check: string(), required: "set the image id, or remove image" },
  digest: { check: string() },
};

const CONFIG_CHECK: Check = withConfigLimits(mapping(CONTAINER_CONFIG_FIELDS));

/** The generation a change replaced (state only: what rollback returns to). */
const PREVIOUS_FIELDS: Fields = {
  config: { check: CONFIG_CHECK, required: "set the previous config, or remove previous" },
  image: { check: mapping(IMAGE_IDENTITY_FIELDS) },
  configFiles: { check: checkConfigFiles },
};

/** The fields of a host-configured container. */
export const HCC_FIELDS: Fields = {
  container: {
    check: mapping({
      config: {
        check: CONFIG_CHECK,
        required: "set the container config (name, image, ...)",
      },
      status: { check: mapping(STATUS_FIELDS) },
      runtime: { check: checkRuntime },
      image: { check: mapping(IMAGE_IDENTITY_FIELDS) },
      previous: { check: mapping(PREVIOUS_FIELDS) },
    }),
    required: "set container: with its config",
  },
  host: {
    check: hostCheck(["directConfig", "direct"], ["sshConfig", "ssh"]),
    required: "set host: with directConfig: {} or sshConfig:",
  },
  configFiles: { check: checkConfigFiles, sensitive: "when-referenced" },
  sensitive: {
    check: mapping({
      env: { check: listOf(string(), "env var names") },
      configFiles: { check: listOf(string(), "paths") },
    }),
  },
  dependsOn: { check: dependsOnCheck },
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
    const runtime = runtimeIdentity(hcc.container.runtime);
    const engine = runtime.kubelet === undefined
      ? `docker ${runtime.docker?.host}`
      : `kubelet ${runtime.kubelet.address}`;
    const key = JSON.stringify([hcc.container.config.name, hostKey(hcc.host), engine]);
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
        hcc: {
          ...(hcc as HostConfiguredContainer),
          host: hostFromDocument(own(hcc as Record<string, unknown>, "host")),
        },
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
  if (problems.length > 0) return problems;
  // A part of a config (--target) may name containers left out: only cycles are refused here.
  const dependsOn = Object.fromEntries(Object.entries(doc.desiredState ?? {}).map(([n, hcc]) => [n, hcc.dependsOn]));
  checkDependsOn(dependsOn, (name) => at(at("desiredState", name), "dependsOn"), problems, { partial: true });
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

/**
 * Documents in and out: YAML parsing with positions in errors, berth's
 * `state.yaml` (written without secrets, in a stable order), and reading
 * state documents in berth's or flexkube's shape.
 *
 * berth's state.yaml:
 * ```yaml
 * version: 1
 * containers:
 *   etcd:
 *     container:
 *       config: { name: etcd, image: quay.io/coreos/etcd:v3.5.9 }
 *       status: { id: 3f2a..., status: running }
 *       runtime: { docker: { host: unix:///var/run/docker.sock } }
 *     host:
 *       sshConfig: { address: 198.18.0.11, port: 22, user: root, privateKeyPath: /root/.ssh/id_ed25519 }
 *     configFiles:
 *       /etc/etcd/etcd.conf: |
 *         ...
 * ```
 *
 * @module
 */
import { isAlias, isMap, isScalar, LineCounter, type Node, parseDocument as parseYaml, visit } from "yaml";
import { containersStateFromDocument } from "./document-to-model.ts";
import { containerFields } from "./fields.ts";
import { isFlexkubeDocument, readFlexkubeDocument } from "./flexkube-document.ts";
import type {
  Container,
  ContainerConfig,
  ContainersState,
  DockerRuntimeConfig,
  Host,
  HostConfiguredContainer,
  PreviousGeneration,
  RuntimeConfig,
  SSHConfig,
} from "./model.ts";
import { type Problem, throwIfProblems, ValidationError } from "./problem.ts";
import { sealContainer } from "./sensitive.ts";
import { checkFields, describe, type Fields, isMapping, own, report } from "./shape.ts";
import { checkContainersState, DOCKER_FIELDS, KUBELET_FIELDS, sshFields } from "./validate.ts";
import { emitYaml } from "./yaml-emit.ts";
import { NOT_READ, readFastYaml } from "./yaml-fast.ts";

/** The version written to, and required in, berth's state.yaml. */
export const STATE_VERSION = 1;

const MAX_ALIASES = 100;

function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * Parses a YAML 1.2 document (JSON is valid YAML) into plain data.
 *
 * @param text The document.
 * @param source Where it came from, such as `config.yaml`, for messages.
 * @returns The data; `null` for an empty document.
 * @throws {ValidationError} On syntax errors (each as `source:line:column`),
 *   duplicate keys, several documents in one, or alias bombs.
 *
 * @example
 * ```ts
 * import { parseDocument } from "./serialize.ts";
 * const doc = parseDocument("hosts: { local: { direct: {} } }", "config.yaml") as { hosts: unknown };
 * if (doc.hosts === undefined) throw new Error("wrong");
 * ```
 */
export function parseDocument(text: string, source: string): unknown {
  // Most configs and states are in the plain subset core/yaml-fast.ts reads in linear time; the rest, and every
  // error, goes through the library below.
  const fast = readFastYaml(text);
  if (fast !== NOT_READ) return fast;
  const problems: Problem[] = [];
  try {
    const lines = new LineCounter();
    // The library's own unique-key check is quadratic in a mapping's size, and tells `1` from "1",
    // which both become the key "1": keys are checked below, once each, as they will be read.
    const doc = parseYaml(text, {
      version: "1.2",
      schema: "core",
      merge: true, // `<<: *base` merge keys, as compose files use them
      uniqueKeys: false,
      prettyErrors: true,
      logLevel: "error",
      lineCounter: lines,
    });
    for (const error of doc.errors) {
      const position = error.linePos?.[0];
      const where = position === undefined ? source : `${source}:${position.line}:${position.col}`;
      const message = error.code === "MULTIPLE_DOCS"
        ? 'expected one document; remove the "---" separator and what follows'
        : firstLine(error.message);
      problems.push({ path: where, message });
    }
    if (problems.length === 0) problems.push(...documentProblems(doc, lines, source));
    if (problems.length === 0) return doc.toJS({ maxAliasCount: MAX_ALIASES }) as unknown;
  } catch (err) {
    // Alias bombs, and stack exhaustion on absurdly deep nesting.
    const message = `cannot read the document: ${firstLine(err instanceof Error ? err.message : String(err))}`;
    throw new ValidationError([{ path: source, message }], source, { cause: err });
  }
  throw new ValidationError(problems, source);
}

/** Half of a UTF-16 surrogate pair standing alone: it has no UTF-8 form and would reach a host as U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * In one pass: keys of one mapping that become the same key once read (`1`
 * and `"1"`, `~` and `""`), and strings with no UTF-8 form (a `"\ud800"`
 * escape).
 */
function documentProblems(doc: ReturnType<typeof parseYaml>, lines: LineCounter, source: string): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value !== "string" || !LONE_SURROGATE.test(node.value)) return;
      const at = lines.linePos(node.range?.[0] ?? 0);
      problems.push({
        path: `${source}:${at.line}:${at.col}`,
        message:
          "the string holds half of a UTF-16 surrogate pair (a \\u escape), which has no UTF-8 form: use the whole character",
      });
    },
    Map(_, map) {
      const seen = new Map<string, Node>();
      for (const pair of map.items) {
        const node = (isAlias(pair.key) ? pair.key.resolve(doc) : pair.key) as Node | undefined;
        const key = isScalar(node) ? String(node.value ?? "") : String(node);
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, pair.key as Node);
          continue;
        }
        const at = lines.linePos((pair.key as Node).range?.[0] ?? 0);
        const was = lines.linePos(first.range?.[0] ?? 0);
        problems.push({
          path: `${source}:${at.line}:${at.col}`,
          message: `Map keys must be unique: "${key}" is also at line ${was.line}, column ${was.col}${
            isMap(node) ? "" : " (a number and a quoted string with the same text are the same key)"
          }; remove or rename one`,
        });
      }
    },
  });
  return problems;
}

/**
 * Decodes a document's bytes as UTF-8, refusing bytes that are not (they
 * would otherwise become U+FFFD and reach a host as such).
 *
 * @throws {ValidationError} Naming the line and column of the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const before = new TextDecoder().decode(bytes.subarray(0, bad));
    const line = before.split("\n").length;
    const col = before.length - before.lastIndexOf("\n");
    throw new ValidationError([{
      path: `${source}:${line}:${col}`,
      message: `byte 0x${
        (bytes[bad] ?? 0).toString(16).padStart(2, "0")
      } at offset ${bad} is not valid UTF-8: save the file as UTF-8 (binary content does not belong in a config)`,
    }], source);
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i] as number;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    const second = bytes[i + 1] as number;
    if (
      (b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f) || (b === 0xf0 && second < 0x90) ||
      (b === 0xf4 && second > 0x8f)
    ) return i;
    i += n + 1;
  }
  return bytes.length;
}

// ---- secrets -------------------------------------------------------------------

const SSH_FIELDS = sshFields("host");

/** A copy without the fields declared `sensitive: "always"`. */
function withoutSecrets<T extends object>(value: T, fields: Fields): T {
  return Object.fromEntries(Object.entries(value).filter(([key]) => fields[key]?.sensitive !== "always")) as T;
}

function sshWithoutSecrets(ssh: SSHConfig): SSHConfig {
  const rest = withoutSecrets(ssh, SSH_FIELDS);
  return ssh.jump === undefined ? rest : { ...rest, jump: ssh.jump.map(sshWithoutSecrets) };
}

function containerWithoutSecrets(container: Container): Container {
  const { docker, kubelet } = container.runtime ?? {};
  if (docker === undefined && kubelet === undefined) return container;
  const runtime = { ...container.runtime };
  if (docker !== undefined) runtime.docker = withoutSecrets(docker, DOCKER_FIELDS);
  if (kubelet !== undefined) runtime.kubelet = withoutSecrets(kubelet, KUBELET_FIELDS);
  return { ...container, runtime };
}

/**
 * A copy of the state without secrets: SSH `password`, `privateKey` and
 * `passphrase` (also of bastions) and Docker `registryAuth`. Hooks are kept.
 *
 * @example
 * ```ts
 * import { stripSecrets } from "./serialize.ts";
 * const s = stripSecrets({ a: { container: { config: { name: "a", image: "busybox" } }, host: { sshConfig: { address: "h", password: "p" } } } });
 * if (s.a?.host.sshConfig?.password !== undefined) throw new Error("kept a secret");
 * ```
 */
export function stripSecrets(state: ContainersState): ContainersState {
  return Object.fromEntries(Object.entries(state).map(([name, hcc]) => [name, entryWithoutSecrets(hcc)]));
}

function entryWithoutSecrets(hcc: HostConfiguredContainer): HostConfiguredContainer {
  const host: Host = hcc.host.sshConfig === undefined
    ? hcc.host
    : { ...hcc.host, sshConfig: sshWithoutSecrets(hcc.host.sshConfig) };
  return { ...hcc, container: containerWithoutSecrets(hcc.container), host };
}

// ---- writing ---------------------------------------------------------------------

/** Copies the listed fields that are set, in the listed order. */
function pick<T extends object>(value: T, keys: ReadonlyArray<keyof T>): Partial<T> {
  const out: Partial<T> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

function sorted<T>(map: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The SSH fields written to state.yaml, in declared order: no secrets, and `jump` handled apart. */
const SSH_KEYS = Object.keys(SSH_FIELDS).filter((key) =>
  key !== "jump" && SSH_FIELDS[key]?.sensitive !== "always"
) as Array<
  keyof SSHConfig
>;

function orderedSsh(ssh: SSHConfig): Partial<SSHConfig> {
  const out = pick(ssh, SSH_KEYS);
  return ssh.jump === undefined ? out : { ...out, jump: ssh.jump.map((j) => orderedSsh(j) as SSHConfig) };
}

/** The fields in the order core/fields.ts declares them, each as its declaration serialises it. */
const CONTAINER_FIELDS = containerFields();

function orderedConfig(config: ContainerConfig): Partial<ContainerConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of CONTAINER_FIELDS) {
    const value = config[key];
    if (value !== undefined) out[key] = field.serialize === undefined ? value : field.serialize(value);
  }
  return out;
}

function orderedDocker(docker: DockerRuntimeConfig): Partial<DockerRuntimeConfig> {
  const out = pick(docker, ["host"]);
  if (docker.tls !== undefined) out.tls = pick(docker.tls, ["ca", "cert", "key", "verify"]);
  return out;
}

function orderedRuntime(runtime: RuntimeConfig): object {
  if (runtime.docker !== undefined) return { docker: orderedDocker(runtime.docker) };
  if (runtime.kubelet !== undefined) return { kubelet: pick(runtime.kubelet, ["address", "configImage"]) };
  return {};
}

function orderedPrevious(previous: PreviousGeneration): object {
  return {
    config: orderedConfig(previous.config),
    ...(previous.image === undefined ? {} : { image: pick(previous.image, ["id", "digest"]) }),
    ...(previous.configFiles === undefined ? {} : { configFiles: sorted(previous.configFiles) }),
  };
}

function orderedHcc(hcc: HostConfiguredContainer): object {
  const { container } = hcc;
  return {
    container: {
      config: orderedConfig(container.config),
      ...(container.status === undefined ? {} : { status: pick(container.status, ["id", "status"]) }),
      ...(container.runtime === undefined ? {} : { runtime: orderedRuntime(container.runtime) }),
      // Written by apply; absent from older states, which stay byte for byte as they were.
      ...(container.image === undefined ? {} : { image: pick(container.image, ["id", "digest"]) }),
      ...(container.previous === undefined ? {} : { previous: orderedPrevious(container.previous) }),
    },
    host: hcc.host.sshConfig === undefined ? { directConfig: {} } : { sshConfig: orderedSsh(hcc.host.sshConfig) },
    ...(hcc.configFiles === undefined ? {} : { configFiles: sorted(hcc.configFiles) }),
  };
}

/**
 * berth's state.yaml for a state: `version: 1` and `containers:` sorted by
 * name, fields in a fixed order, secrets stripped, hooks dropped. Sensitive
 * env values and config files (`hcc.sensitive`, core/sensitive.ts) are
 * written as their digests with `options.digestKey`, else as `sensitive:redacted`.
 * {@link stateFromDocument} reads it back as the same state.
 *
 * @example
 * ```ts
 * import { parseDocument, stateFromDocument, stateToYaml } from "./serialize.ts";
 * const state = { a: { container: { config: { name: "a", image: "busybox" } }, host: { directConfig: {} } } };
 * const back = stateFromDocument(parseDocument(stateToYaml(state), "state.yaml"), "state.yaml");
 * if (JSON.stringify(back) !== JSON.stringify(state)) throw new Error("round trip changed the state");
 * ```
 */
export function stateToYaml(state: ContainersState, options: { digestKey?: Uint8Array } = {}): string {
  return emitYaml(stateDocument(state, options));
}

/** The plain data {@link stateToYaml} writes: sealed, without secrets, in its fixed order. */
export function stateDocument(state: ContainersState, options: { digestKey?: Uint8Array } = {}): object {
  const containers = sorted(state);
  return {
    version: STATE_VERSION,
    containers: Object.fromEntries(
      Object.entries(containers).map(([name, hcc]) => [name, stateEntryDocument(hcc, options.digestKey)]),
    ),
  };
}

/** One entry of {@link stateDocument}'s `containers`: sealed, without secrets, fields in order. */
export function stateEntryDocument(hcc: HostConfiguredContainer, digestKey?: Uint8Array): object {
  return orderedHcc(entryWithoutSecrets(sealContainer(hcc, digestKey)));
}

// ---- reading ---------------------------------------------------------------------

/**
 * Reads a state document: berth's state.yaml (`version: 1`, `containers:`),
 * flexkube's containers resource (its `previousState`), or flexkube CLI's
 * `containers:` groups (flattened). An empty document (or `{}`) is an empty state.
 *
 * @param doc What {@link parseDocument} returned.
 * @param source Where it came from, for messages.
 * @throws {ValidationError} Listing every problem: wrong types, missing or
 *   unknown fields (with suggestions), invalid values.
 */
export function stateFromDocument(doc: unknown, source: string): ContainersState {
  // flexkube writes an empty state as "{}".
  if (doc === null || doc === undefined || (isMapping(doc) && Object.keys(doc).length === 0)) return {};
  const problems: Problem[] = [];
  if (isMapping(doc) && !Object.hasOwn(doc, "version") && isFlexkubeDocument(doc)) {
    const containers = readFlexkubeDocument(doc, problems, "previousState");
    throwIfProblems(problems, source);
    return containers.previousState ?? {};
  }
  if (!isMapping(doc)) {
    report(problems, "", `expected a state document (version: ${STATE_VERSION} and containers:), got ${describe(doc)}`);
    throw new ValidationError(problems, source);
  }
  checkFields(doc, "", problems, {
    version: {
      check: (value, path, found) => {
        if (value !== STATE_VERSION) {
          report(
            found,
            path,
            `unsupported state version ${
              typeof value === "number" ? value : describe(value)
            }; this berth reads version ${STATE_VERSION}`,
          );
        }
      },
      required: `set version: ${STATE_VERSION}`,
    },
    containers: {
      check: (value, path, found) => void checkContainersState(value, path, found),
      required: "set containers: (name: {container, host}), or {} for none",
    },
  });
  throwIfProblems(problems, source);
  return containersStateFromDocument(own(doc, "containers"));
}

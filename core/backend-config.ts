/**
 * Where the state is kept: the `backend:` section of config.yaml and the
 * `--state` flag. A path is a local state file (the default, `state.yaml`);
 * `etcd://host1:2379,host2:2379/prefix` keeps it in etcd v3.
 *
 * ```yaml
 * backend:
 *   etcd:
 *     endpoints: [10.0.0.1:2379, 10.0.0.2:2379]   # https:// is implied when ca: or cert: is set
 *     prefix: /berth/prod/                        # keys <prefix>state and <prefix>lock
 *     ca: ./etcd/ca.pem                           # local paths are relative to the config file
 *     cert: ./etcd/client.pem                     # client certificate without a CN (etcd's gateway refuses CNs)
 *     key: ./etcd/client-key.pem
 *     user: berth
 *     password: ${env:BERTH_ETCD_PASSWORD}        # never written anywhere by berth
 *     lockTtl: 30s                                # a killed run's lock frees itself after this
 * ```
 *
 * @module
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseDuration } from "./duration.ts";
import { BerthError } from "./errors.ts";
import { type Environment, resolveEnvReferences } from "./env-reference.ts";
import { type Problem, throwIfProblems } from "./problem.ts";
import { checkFields, type Fields, listOf, mapping, own, quote, string } from "./shape.ts";
import type { StateFormat } from "./state-format.ts";

/** The etcd backend's settings. */
export interface EtcdBackendConfig {
  /** `host:port` or `http(s)://host:port`, tried in order. */
  endpoints: string[];
  /** Key prefix, ending in `/`. */
  prefix: string;
  ca?: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
  /** Lease TTL of the lock, in milliseconds; default 30 s. */
  lockTtlMs?: number;
}

/** Where the state lives. */
export type BackendSpec = { file: string; format?: StateFormat } | { etcd: EtcdBackendConfig };

export const DEFAULT_LOCK_TTL_MS = 30_000;

const nonEmpty = string((s) => (s === "" ? "must not be empty" : undefined));

const ETCD_FIELDS: Fields = {
  endpoints: {
    check: listOf(nonEmpty, "endpoints (host:port)"),
    required: "list the etcd members' client URLs, such as [10.0.0.1:2379]",
    description: "The members' client URLs (host:port, or http(s)://host:port), tried in order.",
  },
  prefix: {
    check: string((s) => (s.startsWith("/") ? undefined : `start the prefix with "/", such as "/berth/"`)),
    description: "Key prefix (default /berth/): the state is <prefix>state, the lock <prefix>lock.",
  },
  ca: { check: nonEmpty, description: "CA certificate file (PEM); https is implied." },
  cert: { check: nonEmpty, description: "Client certificate file (PEM), without a CN (etcd's gateway refuses CNs)." },
  key: { check: nonEmpty, description: "Client key file (PEM)." },
  user: { check: nonEmpty, description: "etcd user; its role needs readwrite on the prefix." },
  password: {
    check: string(),
    description: "The user's password, e.g. ${env:BERTH_ETCD_PASSWORD}.",
    sensitive: "always",
  },
  lockTtl: {
    description: "Lease TTL of the lock (default 30s): a killed run's lock frees itself after this.",
    check: string((s) => {
      try {
        const ms = parseDuration(s);
        return ms < 2000 ? `the lock TTL must be at least 2s (etcd's minimum lease), got ${quote(s)}` : undefined;
      } catch (err) {
        return (err as Error).message;
      }
    }),
  },
};

/** The check of `backend:` for config.yaml's validation. */
export const checkBackend = mapping({
  etcd: { check: mapping(ETCD_FIELDS), required: "set etcd: {endpoints: [...]}", description: "The state in etcd v3." },
});

/**
 * Parses `etcd://host1:2379,host2:2379/prefix`.
 *
 * @returns undefined when `text` is not an etcd URL (it is a file path then).
 * @throws {BerthError} `VALIDATION` when the URL has no endpoint, or credentials.
 */
export function parseEtcdUrl(text: string): { endpoints: string[]; prefix: string } | undefined {
  const m = /^etcd:\/\/([^/]*)(\/.*)?$/.exec(text);
  if (m === null) return undefined;
  const endpoints = (m[1] as string).split(",").filter((e) => e !== "");
  if (endpoints.length === 0) {
    throw new BerthError("VALIDATION", `--state ${text}: no endpoint; write etcd://host1:2379,host2:2379/prefix`);
  }
  // Credentials in the URL would be printed wherever the URL is (so it is not repeated here).
  if (endpoints.some((e) => e.includes("@"))) {
    throw new BerthError(
      "VALIDATION",
      "--state: no user or password in an etcd:// URL; set backend.etcd.user and password (from ${env:NAME}) in the config",
    );
  }
  return { endpoints, prefix: normalisePrefix(m[2] ?? "/berth/") };
}

function normalisePrefix(prefix: string): string {
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/** Options of {@link backendFromDocument}. */
export interface BackendOptions {
  env: Environment;
  /** The config file's directory, for relative paths. */
  baseDir: string;
}

/**
 * The `backend:` section of a config document, checked, with `${env:}`
 * references resolved (only inside the section) and paths made absolute.
 *
 * @returns undefined when the document has no `backend:`.
 * @throws {ValidationError} Naming the field and the fix.
 */
export function backendFromDocument(
  doc: unknown,
  source: string,
  options: BackendOptions,
): EtcdBackendConfig | undefined {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return undefined;
  const raw = own(doc as Record<string, unknown>, "backend");
  if (raw === undefined) return undefined;
  const problems: Problem[] = [];
  const section = resolveEnvReferences(raw, "backend", options.env, problems);
  checkFields(section, "backend", problems, { etcd: { check: mapping(ETCD_FIELDS), required: "set etcd:" } });
  throwIfProblems(problems, source);
  const etcd = own(section as Record<string, unknown>, "etcd") as Record<string, string | string[] | undefined>;
  const home = options.env["HOME"] ?? homedir();
  const local = (p: string | undefined) =>
    p === undefined
      ? undefined
      : p === "~"
      ? home
      : p.startsWith("~/")
      ? join(home, p.slice(2))
      : isAbsolute(p)
      ? p
      : resolve(options.baseDir, p);
  const config: EtcdBackendConfig = {
    endpoints: [...(etcd["endpoints"] as string[])],
    prefix: normalisePrefix((etcd["prefix"] as string | undefined) ?? "/berth/"),
  };
  for (const key of ["ca", "cert", "key"] as const) {
    const path = local(etcd[key] as string | undefined);
    if (path !== undefined) config[key] = path;
  }
  if (etcd["user"] !== undefined) config.user = etcd["user"] as string;
  if (etcd["password"] !== undefined) config.password = etcd["password"] as string;
  if (etcd["lockTtl"] !== undefined) config.lockTtlMs = parseDuration(etcd["lockTtl"] as string);
  return config;
}

/**
 * What `--state` (given on the command line or not) and the config's
 * `backend:` choose: an `etcd://` URL takes its endpoints and prefix from the
 * URL and its credentials from `backend:`; a path given on the command line
 * is a file; otherwise `backend:` when there is one, else the default file.
 */
export function chooseBackend(
  state: string,
  stateGiven: boolean,
  fromConfig: EtcdBackendConfig | undefined,
): BackendSpec {
  const url = parseEtcdUrl(state);
  if (url !== undefined) return { etcd: { ...(fromConfig ?? {}), ...url } };
  if (!stateGiven && fromConfig !== undefined) return { etcd: fromConfig };
  return { file: state };
}

/** How a backend is named in messages (never with credentials). */
export function describeBackend(spec: BackendSpec): string {
  if ("file" in spec) return spec.file;
  return `etcd://${spec.etcd.endpoints.map((e) => e.replace(/^[a-z]+:\/\//, "")).join(",")}${spec.etcd.prefix}`;
}

/**
 * SSHConfig resolved into the settings the connection code uses: defaults
 * applied, durations parsed, jump hops completed from the target's config.
 *
 * @module
 */
import { parseDuration } from "../../core/duration.ts";
import { BerthError } from "../../core/errors.ts";
import type { SSHConfig } from "../../core/model.ts";
import { expandHome } from "../../core/home.ts";

/** How strictly host keys are checked. */
export type HostKeyPolicy = "strict" | "accept-new" | "insecure";

/** Everything needed to reach and authenticate one SSH server. */
export interface HopSettings {
  address: string;
  port: number;
  user: string;
  password: string | undefined;
  privateKey: string | undefined;
  privateKeyPath: string | undefined;
  passphrase: string | undefined;
  /** Agent socket path, when the agent is to be used. */
  agentSocket: string | undefined;
  knownHostsFile: string;
  hostKeyPolicy: HostKeyPolicy;
  connectionTimeoutMs: number;
}

/** The resolved settings of one SSH transport. */
export interface SSHSettings {
  /** Jump hops (outermost first), then the target host last. */
  hops: HopSettings[];
  retryTimeoutMs: number;
  retryIntervalMs: number;
}

const DEFAULTS = { port: 22, user: "root", connectionTimeout: "30s", retryTimeout: "60s", retryInterval: "1s" };

/** `user@address:port`, the name used in every message. */
export function describeHop(hop: Pick<HopSettings, "user" | "address" | "port">): string {
  return `${hop.user}@${hop.address}:${hop.port}`;
}

/**
 * Resolves an SSHConfig. A jump hop inherits what it leaves out (user, keys,
 * agent, known_hosts file, policy, connection timeout) from the target.
 *
 * @param config The host's SSH settings.
 * @param env Environment for `SSH_AUTH_SOCK`.
 * @throws {BerthError} `VALIDATION` for an unparseable duration or port.
 */
export function resolveSettings(config: SSHConfig, env: Record<string, string | undefined>): SSHSettings {
  const target = resolveHop(config, undefined, env);
  const hops = (config.jump ?? []).map((jump) => resolveHop(jump, config, env));
  return {
    hops: [...hops, target],
    retryTimeoutMs: duration(config, "retryTimeout"),
    retryIntervalMs: duration(config, "retryInterval"),
  };
}

function resolveHop(
  own: SSHConfig,
  parent: SSHConfig | undefined,
  env: Record<string, string | undefined>,
): HopSettings {
  const port = own.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BerthError("VALIDATION", `ssh host "${own.address}": port ${port} is not a TCP port (1-65535)`, {
      host: own.address,
    });
  }
  const hasOwnKey = own.privateKey !== undefined || own.privateKeyPath !== undefined;
  const keys = hasOwnKey || parent === undefined ? own : parent;
  const agent = own.agent ?? parent?.agent;
  const agentSocket = env["SSH_AUTH_SOCK"];
  const knownHostsFile = own.knownHostsFile ?? parent?.knownHostsFile;
  return {
    address: own.address,
    port,
    user: own.user ?? parent?.user ?? DEFAULTS.user,
    password: own.password,
    privateKey: keys.privateKey,
    privateKeyPath: keys.privateKeyPath === undefined ? undefined : expandHome(keys.privateKeyPath, env),
    passphrase: keys.passphrase,
    agentSocket: agent !== false && agentSocket !== undefined && agentSocket !== "" ? agentSocket : undefined,
    knownHostsFile: expandHome(knownHostsFile ?? "~/.ssh/known_hosts", env),
    hostKeyPolicy: own.hostKeyPolicy ?? parent?.hostKeyPolicy ?? "strict",
    connectionTimeoutMs: duration(
      own.connectionTimeout === undefined && parent !== undefined ? parent : own,
      "connectionTimeout",
    ),
  };
}

function duration(config: SSHConfig, field: "connectionTimeout" | "retryTimeout" | "retryInterval"): number {
  const text = config[field] ?? DEFAULTS[field];
  try {
    return parseDuration(text);
  } catch (err) {
    throw new BerthError("VALIDATION", `ssh host "${config.address}": ${field}: ${(err as Error).message}`, {
      host: config.address,
      cause: err,
    });
  }
}

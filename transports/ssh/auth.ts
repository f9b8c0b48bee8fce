/**
 * SSH user authentication: which methods to try, in OpenSSH's order (agent,
 * private key, password), with their secrets loaded and checked up front so
 * a missing key file or a wrong passphrase fails before connecting.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import ssh2 from "ssh2";
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey } from "ssh2";
import { BerthError } from "../../core/errors.ts";
import { describeHop, type HopSettings } from "./settings.ts";
import { signalOption } from "../../core/signal.ts";

/** An authentication attempt with a secret-free label for messages. */
export interface LabelledMethod {
  /** e.g. `agent`, `publickey "~/.ssh/id_ed25519"`, `password`. */
  label: string;
  method: AnyAuthMethod;
}

/**
 * The methods to try for one hop, in order.
 *
 * @throws {BerthError} `AUTH` when no method is configured or a key cannot be read, decrypted or parsed.
 */
export async function authMethods(hop: HopSettings, options: { signal?: AbortSignal } = {}): Promise<LabelledMethod[]> {
  const username = hop.user;
  const methods: LabelledMethod[] = [];
  if (hop.agentSocket !== undefined) {
    methods.push({ label: "agent", method: { type: "agent", username, agent: hop.agentSocket } });
  }
  if (hop.privateKeyPath !== undefined) {
    const key = await loadKey(hop, hop.privateKeyPath, options.signal);
    methods.push({ label: `publickey "${hop.privateKeyPath}"`, method: { type: "publickey", username, key } });
  } else if (hop.privateKey !== undefined) {
    const key = parsePrivateKey(hop, hop.privateKey, "the inline privateKey");
    methods.push({ label: "publickey (inline key)", method: { type: "publickey", username, key } });
  }
  if (hop.password !== undefined) {
    methods.push({ label: "password", method: { type: "password", username, password: hop.password } });
  }
  if (methods.length === 0) {
    throw new BerthError(
      "AUTH",
      `No way to authenticate as ${
        describeHop(hop)
      }: set privateKeyPath, privateKey or password, or run an ssh-agent (SSH_AUTH_SOCK)`,
      { host: hop.address },
    );
  }
  return methods;
}

/**
 * An ssh2 `authHandler` that tries `methods` in order, skips those the
 * server does not accept, and records each label it tries in `tried`.
 */
export function authHandler(methods: LabelledMethod[], tried: string[]): AuthHandlerMiddleware {
  let next = 0;
  return (authsLeft, _partialSuccess, callback) => {
    while (next < methods.length) {
      const candidate = methods[next++] as LabelledMethod;
      if (authsLeft !== null && authsLeft !== undefined && !authsLeft.includes(wireType(candidate.method.type))) {
        continue;
      }
      tried.push(candidate.label);
      callback(candidate.method);
      return;
    }
    callback(false as unknown as AuthenticationType); // ssh2 takes `false` for "no more methods"
  };
}

function wireType(type: AuthenticationType): AuthenticationType {
  return type === "agent" ? "publickey" : type;
}

async function loadKey(hop: HopSettings, path: string, signal: AbortSignal | undefined): Promise<ParsedKey> {
  let data: Buffer;
  try {
    data = await readFile(path, signalOption(signal));
  } catch (err) {
    throw new BerthError(
      "AUTH",
      `Cannot read private key "${path}" for ${describeHop(hop)}: ${(err as Error).message}`,
      {
        host: hop.address,
        cause: err,
      },
    );
  }
  return parsePrivateKey(hop, data, `private key "${path}"`);
}

function parsePrivateKey(hop: HopSettings, data: Buffer | string, what: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(data, hop.passphrase);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | Error | undefined) : parsed;
  const fail = (reason: string, cause?: unknown) =>
    new BerthError("AUTH", `Cannot use ${what} for ${describeHop(hop)}: ${reason}`, { host: hop.address, cause });
  if (key === undefined) throw fail("no key found");
  if (key instanceof Error) {
    if (/no passphrase given/i.test(key.message)) throw fail("the key is encrypted; set passphrase", key);
    if (hop.passphrase !== undefined && /passphrase|decrypt/i.test(key.message)) throw fail("wrong passphrase", key);
    throw fail(key.message, key);
  }
  if (!key.isPrivateKey()) throw fail("it is a public key, not a private key");
  return key;
}

/**
 * Host key verification against a known_hosts file, under the host's
 * `hostKeyPolicy`: `strict` refuses unknown keys, `accept-new` records them,
 * `insecure` accepts anything with a warning. A changed or revoked key is
 * refused under both `strict` and `accept-new`.
 *
 * @module
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { BerthError } from "../../core/errors.ts";
import { fingerprint, keyType } from "./fingerprint.ts";
import {
  checkHostKey,
  hostName,
  type KnownHostEntry,
  knownHostsLine,
  knownKeyTypes,
  linesFor,
  parseKnownHosts,
} from "./known-hosts.ts";
import { describeHop, type HopSettings } from "./settings.ts";

/** ssh2's default host key algorithms, strongest first. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** A verifier for one connection attempt, and why it refused, if it did. */
export interface HostKeyVerifier {
  /** ssh2 `hostVerifier`. */
  verify: (key: Buffer, done: (ok: boolean) => void) => void;
  /** Host key algorithms to offer, the known types first (like OpenSSH); `undefined` for ssh2's default. */
  algorithms: ServerHostKeyAlgorithm[] | undefined;
  /** The `HOST_KEY` error when `verify` refused the key. */
  rejection(): BerthError | undefined;
}

/**
 * Reads the hop's known_hosts file and returns its verifier.
 *
 * @throws {BerthError} `HOST_KEY` when the known_hosts file exists but cannot be read.
 */
export async function hostKeyVerifier(hop: HopSettings, log: (message: string) => void): Promise<HostKeyVerifier> {
  let rejection: BerthError | undefined;
  const who = describeHop(hop);
  if (hop.hostKeyPolicy === "insecure") {
    return {
      algorithms: undefined,
      rejection: () => undefined,
      verify: (key, done) => {
        log(`WARNING: not verifying the host key of ${who} (hostKeyPolicy: insecure); it offered ${showKey(key)}`);
        done(true);
      },
    };
  }
  const entries = knownEntries(hop.knownHostsFile, await readKnownHosts(hop))(hop.address, hop.port);
  const types = knownKeyTypes(entries, hop.address, hop.port);
  const refuse = (message: string, done: (ok: boolean) => void) => {
    rejection = new BerthError("HOST_KEY", message, { host: hop.address });
    done(false);
  };
  return {
    algorithms: types.length === 0 ? undefined : preferTypes(types),
    rejection: () => rejection,
    verify: (key, done) => {
      const found = checkHostKey(entries, hop.address, hop.port, key);
      const file = hop.knownHostsFile;
      switch (found.status) {
        case "known":
          return done(true);
        case "revoked":
          return refuse(
            `Host key of ${who} (${showKey(key)}) is marked @revoked in ${file}; refusing to connect`,
            done,
          );
        case "changed": {
          const expected = found.expected.map((e) => `${e.keyType} ${fingerprint(e.key)} (${file} line ${e.line})`)
            .join(", ");
          return refuse(
            `Host key of ${who} has CHANGED: expected ${expected}, offered ${showKey(key)}. ` +
              `This may be an attack; if the host was reinstalled, check the new fingerprint and remove the old key with: ` +
              `ssh-keygen -R "${hostName(hop.address, hop.port)}" -f ${file}`,
            done,
          );
        }
        case "unknown":
          if (hop.hostKeyPolicy === "accept-new") {
            return void record(hop, key, log).then(() => done(true), (err: BerthError) => {
              rejection = err;
              done(false);
            });
          }
          return refuse(
            `Host key of ${who} is not known (${
              showKey(key)
            }, not in ${file}). Check the fingerprint, then add it with: ` +
              `ssh-keyscan -p ${hop.port} ${hop.address} >> ${file} (or set hostKeyPolicy: accept-new)`,
            done,
          );
      }
    },
  };
}

/**
 * The last text of each known_hosts file parsed, and its lines indexed by
 * host: every host of a run reads the same file, and a fleet of N hosts
 * parsed its N lines N times and walked them N times. The file is still read
 * per connection, so a key recorded meanwhile (accept-new) is seen.
 */
const parsed = new Map<string, { text: string; lines: (address: string, port: number) => KnownHostEntry[] }>();

/** The file's lines that can concern a host (see linesFor), parsed and indexed once per text. */
function knownEntries(file: string, text: string): (address: string, port: number) => KnownHostEntry[] {
  const last = parsed.get(file);
  if (last?.text === text) return last.lines;
  const lines = linesFor(parseKnownHosts(text));
  parsed.set(file, { text, lines });
  return lines;
}

async function readKnownHosts(hop: HopSettings): Promise<string> {
  try {
    return await readFile(hop.knownHostsFile, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new BerthError(
      "HOST_KEY",
      `Cannot read known_hosts file "${hop.knownHostsFile}" for ${describeHop(hop)}: ${(err as Error).message}`,
      {
        host: hop.address,
        cause: err,
      },
    );
  }
}

async function record(hop: HopSettings, key: Buffer, log: (message: string) => void): Promise<void> {
  try {
    await mkdir(dirname(hop.knownHostsFile), { recursive: true, mode: 0o700 });
    await appendFile(hop.knownHostsFile, knownHostsLine(hop.address, hop.port, key), { mode: 0o600 });
  } catch (err) {
    throw new BerthError(
      "HOST_KEY",
      `Cannot record the host key of ${describeHop(hop)} in "${hop.knownHostsFile}": ${(err as Error).message}`,
      {
        host: hop.address,
        cause: err,
      },
    );
  }
  log(`Recorded the new host key of ${describeHop(hop)} (${showKey(key)}) in ${hop.knownHostsFile}`);
}

function showKey(key: Buffer): string {
  return `${keyType(key) ?? "unknown type"} ${fingerprint(key)}`;
}

function preferTypes(types: string[]): ServerHostKeyAlgorithm[] {
  const preferred = HOST_KEY_ALGORITHMS.filter((algorithm) =>
    types.includes(algorithm.startsWith("rsa-sha2-") ? "ssh-rsa" : algorithm)
  );
  return [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

/**
 * known_hosts files, parsed and matched as OpenSSH does: plain host patterns
 * (`host`, `[host]:port`, comma lists, `*`/`?` wildcards, `!` negation),
 * hashed entries (`|1|salt|hmac-sha1`), the `@revoked` marker; lines marked
 * `@cert-authority` are ignored (berth does not verify host certificates).
 * Pure: no file access.
 *
 * @module
 */
import { createHmac, randomBytes } from "node:crypto";
import { keyType } from "./fingerprint.ts";

/** One usable known_hosts line. */
export interface KnownHostEntry {
  /** The host field as written (comma list of patterns, or a hashed name). */
  hosts: string;
  /** The key type field, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The public key blob (base64-decoded). */
  key: Buffer;
  /** Whether the line is marked `@revoked`. */
  revoked: boolean;
  /** 1-based line number, for messages. */
  line: number;
}

/** What a known_hosts file says about an offered host key. */
export type HostKeyStatus =
  | { status: "known" }
  | { status: "unknown" }
  | { status: "revoked" }
  | { status: "changed"; expected: KnownHostEntry[] };

/**
 * Parses known_hosts text. Comments, blank, malformed and `@cert-authority`
 * lines are skipped, as OpenSSH skips them.
 *
 * @param text The file content.
 * @returns The usable entries in file order.
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from "./known-hosts.ts";
 * const [entry] = parseKnownHosts("[10.0.0.2]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAYJZLwlWwOrThD3zyLG8kS00R716RDcE1awGL1Lhx9k\n");
 * if (entry?.keyType !== "ssh-ed25519") throw new Error("not parsed");
 * ```
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) return;
    let revoked = false;
    if (fields[0].startsWith("@")) {
      if (fields[0] === "@cert-authority") return;
      if (fields[0] !== "@revoked") return;
      revoked = true;
      fields.shift();
    }
    const [hosts, type, base64] = fields;
    if (hosts === undefined || type === undefined || base64 === undefined) return;
    const key = Buffer.from(base64, "base64");
    if (keyType(key) !== type) return;
    entries.push({ hosts, keyType: type, key, revoked, line: index + 1 });
  });
  return entries;
}

/**
 * The name OpenSSH records for a host: `address` on port 22, else `[address]:port`.
 *
 * @example
 * ```ts
 * import { hostName } from "./known-hosts.ts";
 * if (hostName("10.0.0.2", 2222) !== "[10.0.0.2]:2222") throw new Error("wrong");
 * ```
 */
export function hostName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * A hashed host field (`|1|salt|hash`, HMAC-SHA1 keyed by the salt), as
 * `ssh-keygen -H` writes it.
 *
 * @param name The host name as {@link hostName} gives it.
 * @param salt 20 random bytes unless given.
 */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac("sha1", salt).update(name).digest("base64");
  return `|1|${salt.toString("base64")}|${hash}`;
}

/**
 * An index of `entries` for {@link checkHostKey} and {@link knownKeyTypes}:
 * given a host, the lines that can concern it, in file order: the lines
 * naming it plainly (found by name, case aside, as OpenSSH compares), and
 * every revoked, hashed or patterned line (those are matched line by line).
 * A file of N plain lines is then not walked, a pattern compiled per line,
 * for each of N hosts.
 */
export function linesFor(entries: KnownHostEntry[]): (address: string, port: number) => KnownHostEntry[] {
  const byName = new Map<string, number[]>();
  const always: number[] = [];
  entries.forEach((entry, index) => {
    const names = entry.hosts.toLowerCase().split(",");
    const matchedOneByOne = entry.revoked || entry.hosts.startsWith("|1|") || names.some((n) => /[*?!]/.test(n));
    if (matchedOneByOne) return void always.push(index);
    for (const name of new Set(names)) byName.set(name, [...(byName.get(name) ?? []), index]);
  });
  return (address, port) => {
    const named = byName.get(hostName(address, port).toLowerCase()) ?? [];
    return [...always, ...named].sort((a, b) => a - b).map((index) => entries[index] as KnownHostEntry);
  };
}

/** Whether an entry's host field names this host. */
export function matchesHost(entry: KnownHostEntry, address: string, port: number): boolean {
  const name = hostName(address, port);
  if (entry.hosts.startsWith("|1|")) {
    const [, , salt, hash] = entry.hosts.split("|");
    if (salt === undefined || hash === undefined) return false;
    return hashHostName(name, Buffer.from(salt, "base64")) === entry.hosts;
  }
  let matched = false;
  for (const pattern of entry.hosts.split(",")) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * Looks up an offered host key: `known` when a line for the host has this
 * key, `revoked` when the key is marked revoked (for any host, as OpenSSH
 * does), `changed` when the host has other keys, else `unknown`.
 *
 * @param entries Parsed known_hosts lines.
 * @param address Host address as configured.
 * @param port SSH port.
 * @param key The offered public key blob.
 */
export function checkHostKey(entries: KnownHostEntry[], address: string, port: number, key: Buffer): HostKeyStatus {
  if (entries.some((e) => e.revoked && e.key.equals(key))) return { status: "revoked" };
  const forHost = entries.filter((e) => !e.revoked && matchesHost(e, address, port));
  if (forHost.some((e) => e.key.equals(key))) return { status: "known" };
  return forHost.length === 0 ? { status: "unknown" } : { status: "changed", expected: forHost };
}

/**
 * The key types recorded for a host, in file order, without duplicates.
 */
export function knownKeyTypes(entries: KnownHostEntry[], address: string, port: number): string[] {
  const types = entries.filter((e) => !e.revoked && matchesHost(e, address, port)).map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * A known_hosts line (with newline) recording `key` for the host.
 *
 * @example
 * ```ts
 * import { knownHostsLine } from "./known-hosts.ts";
 * const key = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIAYJZLwlWwOrThD3zyLG8kS00R716RDcE1awGL1Lhx9k", "base64");
 * if (!knownHostsLine("h", 22, key).startsWith("h ssh-ed25519 AAAA")) throw new Error("wrong");
 * ```
 */
export function knownHostsLine(address: string, port: number, key: Buffer): string {
  return `${hostName(address, port)} ${keyType(key) ?? "unknown"} ${key.toString("base64")}\n`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "i").test(name);
}

/**
 * Host key fingerprints and key types as OpenSSH shows them.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * The OpenSSH SHA256 fingerprint of a public key blob (wire format).
 *
 * @param key The public key in SSH wire format (as in known_hosts, base64-decoded).
 * @returns `SHA256:` followed by the unpadded base64 digest.
 *
 * @example
 * ```ts
 * import { fingerprint } from "./fingerprint.ts";
 * const fp = fingerprint(Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIAYJZLwlWwOrThD3zyLG8kS00R716RDcE1awGL1Lhx9k", "base64"));
 * if (!fp.startsWith("SHA256:") || fp.endsWith("=")) throw new Error(fp);
 * ```
 */
export function fingerprint(key: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/**
 * The key type named inside a public key blob (its first SSH string).
 *
 * @param key The public key in SSH wire format.
 * @returns The type such as `ssh-ed25519`, or `undefined` when the blob is malformed.
 */
export function keyType(key: Uint8Array): string | undefined {
  if (key.length < 4) return undefined;
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const length = view.getUint32(0);
  if (length === 0 || 4 + length > key.length) return undefined;
  return new TextDecoder().decode(key.subarray(4, 4 + length));
}

/**
 * The key of the digests of sensitive values (core/sensitive.ts): berth's
 * own, in `<state>.key` beside the state file (mode 0600, made on first
 * use), or given in `BERTH_DIGEST_KEY` so a team shares one.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { BerthError } from "../core/errors.ts";

/** The environment variable that gives the key instead of the file. */
export const DIGEST_KEY_VARIABLE = "BERTH_DIGEST_KEY";
const SHORTEST = 32;

/** The key file of a state file. */
export function digestKeyPath(statePath: string): string {
  return `${statePath}.key`;
}

/**
 * The digest key: `BERTH_DIGEST_KEY` when set, else the key file beside the
 * state, created (32 random bytes, hex, mode 0600) when missing.
 *
 * @throws {BerthError} `VALIDATION` for a variable shorter than 32 characters;
 *   `STATE` when the key file is readable by others (with the chmod to run) or cannot be read or made.
 */
export function loadDigestKey(statePath: string, env: Readonly<Record<string, string | undefined>>): Uint8Array {
  const given = keyFromEnv(env);
  if (given !== undefined) return given;
  const path = digestKeyPath(statePath);
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new BerthError(
        "STATE",
        `Digest key file "${path}" is readable by others (mode ${
          mode.toString(8).padStart(4, "0")
        }): run chmod 600 "${path}", then run again`,
      );
    }
    return fromHex(readFileSync(path, "utf8").trim(), path);
  } catch (err) {
    if (err instanceof BerthError) throw err;
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new BerthError("STATE", `Cannot read digest key file "${path}": ${(err as Error).message}`, { cause: err });
    }
  }
  return create(path);
}

/**
 * The digest key of a state kept elsewhere than in a file (etcd): only
 * `BERTH_DIGEST_KEY`, the same for everyone who applies the config.
 *
 * @throws {BerthError} `VALIDATION` when it is not set (or too short).
 */
export function sharedDigestKey(env: Readonly<Record<string, string | undefined>>, where: string): Uint8Array {
  const given = keyFromEnv(env);
  if (given !== undefined) return given;
  throw new BerthError(
    "VALIDATION",
    `The config has secrets and the state is kept in ${where}: set ${DIGEST_KEY_VARIABLE} to a key shared by everyone who applies it (such as the output of "openssl rand -hex 32"), so the state's digests compare across machines`,
  );
}

function keyFromEnv(env: Readonly<Record<string, string | undefined>>): Uint8Array | undefined {
  const given = env[DIGEST_KEY_VARIABLE];
  if (given === undefined || given === "") return undefined;
  if (given.length < SHORTEST) {
    throw new BerthError(
      "VALIDATION",
      `${DIGEST_KEY_VARIABLE} is ${given.length} characters long; use at least ${SHORTEST}, such as the output of "openssl rand -hex 32"`,
    );
  }
  return new TextEncoder().encode(given);
}

function create(path: string): Uint8Array {
  const key = randomBytes(32);
  try {
    // "wx": two berths starting at once must not each make a key; the loser reads the winner's.
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, `${key.toString("hex")}\n`);
    } finally {
      closeSync(fd);
    }
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return fromHex(readFileSync(path, "utf8").trim(), path);
    throw new BerthError(
      "STATE",
      `Cannot create digest key file "${path}": ${
        (err as Error).message
      }. Fix permissions in its directory, or set ${DIGEST_KEY_VARIABLE}`,
      { cause: err },
    );
  }
}

function fromHex(text: string, path: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new BerthError(
      "STATE",
      `Digest key file "${path}" does not hold a key (64 hex digits); delete it to make a new one (every secret then shows as changed once)`,
    );
  }
  return Buffer.from(text, "hex");
}

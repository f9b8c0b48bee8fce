/**
 * The state file: read strictly (a corrupt or empty file is never taken as
 * "no containers", and never overwritten), written so it can never be cut
 * short: every byte written or an error, fsync, the temp file read back and
 * compared byte for byte, then renamed over the old one, with mode 0600.
 * Writes go through the thread pool, so that an apply's other hosts'
 * requests go on while the disk syncs.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { ContainersState } from "../core/model.ts";
import { decodeUtf8, parseDocument, stateFromDocument } from "../core/serialize.ts";
import { type StateFormat, stateFormatOf, stateText } from "../core/state-format.ts";

/** What reading a state file found. */
export interface LoadedState {
  /** The containers recorded; empty when the file did not exist. */
  state: ContainersState;
  /** False when the file did not exist (first run). */
  existed: boolean;
  /** Warnings, e.g. a file readable by others. */
  warnings: string[];
  /** The file's layout: berth's, or flexkube's (`previousState:`); berth's when there was no file. */
  format: StateFormat;
}

/**
 * Reads a state file. A missing file is an empty state; an empty file is an
 * error (it is what a cut-short write leaves, not what berth writes).
 *
 * @throws {BerthError} `STATE` when the file cannot be read, is empty or cannot be parsed; the file is left untouched.
 */
export async function readStateFile(path: string): Promise<LoadedState> {
  let bytes: Uint8Array;
  const warnings: string[] = [];
  try {
    bytes = await readFile(path);
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warnings.push(
        `State file "${path}" is readable by others (mode ${
          mode.toString(8).padStart(4, "0")
        }): run chmod 600 "${path}"`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      return { state: {}, existed: false, warnings, format: "berth" };
    }
    throw new BerthError("STATE", `Cannot read state file "${path}": ${(err as Error).message}`, { cause: err });
  }
  try {
    const text = decodeUtf8(bytes, path);
    if (text.trim() === "") {
      throw new BerthError(
        "STATE",
        `State file "${path}" is empty; berth never writes an empty state, so it was probably cut short. If this is a first run, delete it; otherwise rebuild it from the hosts with "berth state recover --force"`,
      );
    }
    const doc = parseDocument(text, path);
    return { state: stateFromDocument(doc, path), existed: true, warnings, format: stateFormatOf(doc) };
  } catch (err) {
    if (err instanceof BerthError && err.code === "STATE") throw err;
    throw new BerthError(
      "STATE",
      `Cannot parse state file "${path}"; it was left untouched. Fix it, restore it from a backup, or rebuild it with "berth state recover --force", then run again:\n${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
}

/**
 * Writes the state atomically: a reader sees the old file or the new one,
 * never a mix, and never a shorter or unparsable one.
 *
 * @param format The layout: berth's (the default), or flexkube's (see core/state-format.ts).
 * @throws {BerthError} `STATE` when any step fails (a full disk, for one); the old file is then left as it was.
 */
export async function writeStateFile(
  path: string,
  state: ContainersState,
  digestKey?: Uint8Array,
  format: StateFormat = "berth",
): Promise<void> {
  await writeStateText(path, Buffer.from(stateText(state, format, digestKey === undefined ? {} : { digestKey })));
}

let writes = 0;

/**
 * The steps of {@link writeStateFile}, for a text already made: through the
 * thread pool (a blocking write held up every host's requests: 48 writes,
 * 0.6 s of a first converge of 3 hosts x 10 containers), and none when the
 * file already holds exactly these bytes (a no-op apply).
 *
 * @throws {BerthError} `STATE` as writeStateFile.
 */
export async function writeStateText(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  // Unique per call: a temp file is never shared by two writes, whatever overlaps.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${++writes}.tmp`);
  try {
    if (await readFile(path).then((old) => old.equals(bytes), () => false)) return;
    const file = await open(temp, "w", 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    // What is on disk must be exactly what was meant before it replaces the old file. The bytes are compared,
    // not parsed again: stateToYaml's output parses (its round trip is tested), and parsing the whole state
    // after every step cost more than writing it (37 of 86 s of an apply to 100 simulated hosts).
    const back = await readFile(temp);
    if (!back.equals(bytes)) throw new Error(`read back ${back.length} bytes, not the ${bytes.length} written`);
    await rename(temp, path);
    const dirFile = await open(dir, "r");
    try {
      await dirFile.sync();
    } finally {
      await dirFile.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw writeError(path, err);
  }
}

function writeError(path: string, err: unknown): BerthError {
  return new BerthError(
    "STATE",
    `Cannot write state file "${path}" (the previous one is unchanged): ${
      (err as Error).message
    }. Free space or fix permissions in "${dirname(path)}"; containers changed since are adopted by the next run`,
    { cause: err },
  );
}

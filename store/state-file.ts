/**
 * The state file: read strictly (a corrupt file is never overwritten),
 * written atomically (temp file, fsync, rename) with mode 0600.
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { BerthError } from "../core/errors.ts";
import type { ContainersState } from "../core/model.ts";
import { parseDocument, stateFromDocument, stateToYaml } from "../core/serialize.ts";

/** What reading a state file found. */
export interface LoadedState {
  state: ContainersState;
  /** False when the file did not exist (first run). */
  existed: boolean;
  /** Warnings, e.g. a file readable by others. */
  warnings: string[];
}

/**
 * Reads a state file. A missing file is an empty state.
 *
 * @throws {BerthError} `STATE` when the file cannot be read or parsed; the file is left untouched.
 */
export async function readStateFile(path: string): Promise<LoadedState> {
  let text: string;
  const warnings: string[] = [];
  try {
    text = await readFile(path, "utf8");
    const mode = (await stat(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warnings.push(
        `State file "${path}" is readable by others (mode ${
          mode.toString(8).padStart(4, "0")
        }): run chmod 600 "${path}"`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { state: {}, existed: false, warnings };
    throw new BerthError("STATE", `Cannot read state file "${path}": ${(err as Error).message}`, { cause: err });
  }
  try {
    if (text.trim() === "") return { state: {}, existed: true, warnings };
    return { state: stateFromDocument(parseDocument(text, path), path), existed: true, warnings };
  } catch (err) {
    throw new BerthError(
      "STATE",
      `Cannot parse state file "${path}"; it was left untouched. Fix it, or restore it from a backup, then run again:\n${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
}

/**
 * Writes the state atomically: a reader sees the old file or the new one, never a mix.
 */
export function writeStateFile(path: string, state: ContainersState): void {
  const text = stateToYaml(state);
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, "w", 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (err) {
    rmSync(temp, { force: true });
    throw new BerthError("STATE", `Cannot write state file "${path}": ${(err as Error).message}`, { cause: err });
  }
}

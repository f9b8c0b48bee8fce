/**
 * A lock file beside the state file, so two runs never change the same
 * state at once. A lock left by a process that no longer runs is reported
 * and taken over, by one run only; `release()` removes only a lock that is
 * still its own.
 *
 * The lock file appears whole or not at all (written to a temp file, then
 * hard-linked to its name, which fails when it exists). Taking over a stale
 * lock first takes a marker named after that exact lock's content with
 * O_EXCL: of several runs that found the same dead owner, only the one
 * holding the marker removes the lock, after checking it is still the dead
 * owner's. Every lock's content is unique, so no marker stands for another.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../core/errors.ts";
import { ownerIsGone } from "../platform/process.ts";
import type { LockOptions } from "./backend.ts";

interface LockOwner {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
  /** Unique per lock taken: tells this lock from any later one of the same process. */
  token?: string;
}

/** A held lock; `release()` removes the file if it is still this lock (idempotent). */
export interface StateLock {
  /** The lock file's path: `<state file>.lock`. */
  readonly path: string;
  /** Removes the lock file if it is still this lock; calling it again does nothing. */
  release(): void;
}

/** Options of `lockState`: those of every state backend's lock. */
export type { LockOptions };

/**
 * Takes the lock of a state file (`<state>.lock`).
 *
 * @throws {BerthError} `STATE` when another live process holds it.
 */
export async function lockState(statePath: string, options: LockOptions): Promise<StateLock> {
  const path = `${statePath}.lock`;
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const owner: LockOwner = {
      pid: process.pid,
      hostname: hostname(),
      command: options.command,
      startedAt: new Date().toISOString(),
      token: randomUUID(),
    };
    const text = JSON.stringify(owner);
    if (createWhole(path, text)) {
      let held = true;
      return {
        path,
        release: () => {
          if (held && readText(path) === text) rmSync(path, { force: true });
          held = false;
        },
      };
    }
    const seen = readText(path);
    if (seen === undefined) continue; // released in between: try again at once
    const holder = parseOwner(seen);
    if (holder !== undefined && ownerIsGone(`${holder.hostname}:${holder.pid}`)) {
      if (takeOver(path, seen)) {
        options.warn?.(
          `Lock file "${path}" was left by process ${holder.pid} (${holder.command}, started ${holder.startedAt}), which no longer runs: taking it over`,
        );
      }
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder === undefined
        ? "another run"
        : `process ${holder.pid} on ${holder.hostname} (${holder.command}, started ${holder.startedAt})`;
      throw new BerthError(
        "STATE",
        `State file "${statePath}" is locked by ${who}: wait for it to finish, or remove "${path}" if that run is gone`,
      );
    }
    await sleep(50 + Math.random() * 150); // jittered, so contenders do not retry in step
  }
}

/** Creates `path` with `text`, whole, unless it exists (then false). */
function createWhole(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const fd = openSync(temp, "wx", 0o600);
    try {
      writeAll(fd, new TextEncoder().encode(text));
    } finally {
      closeSync(fd);
    }
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new BerthError("STATE", `Cannot create lock file "${path}": ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Removes the stale lock whose content is `stale`, if this run is the one
 * that gets to. True when this run removed it.
 */
function takeOver(path: string, stale: string): boolean {
  const marker = `${path}.takeover-${createHash("sha256").update(stale).digest("hex").slice(0, 16)}`;
  const me = JSON.stringify({ pid: process.pid, hostname: hostname() });
  if (!createWhole(marker, me)) {
    const other = parseOwner(readText(marker) ?? "");
    if (other !== undefined && ownerIsGone(`${other.hostname}:${other.pid}`)) {
      throw new BerthError(
        "STATE",
        `Process ${other.pid} was killed while taking over the stale lock "${path}": make sure no berth runs on this state, then remove "${path}" and "${marker}"`,
      );
    }
    return false; // another run is taking it over right now
  }
  try {
    // Only a marker holder removes this lock, and the lock cannot change while it exists: check, then remove.
    if (readText(path) !== stale) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    rmSync(marker, { force: true });
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BerthError("STATE", `Cannot read lock file "${path}": ${(err as Error).message}`, { cause: err });
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.hostname === "string" ? owner as LockOwner : undefined;
  } catch {
    return undefined; // garbage: treated as held
  }
}

/** Writes every byte of `data` at the file's position, or throws: `write(2)` may write fewer bytes than asked. */
function writeAll(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length;) {
    const n = writeSync(fd, data, done, data.length - done);
    if (n <= 0) throw new Error(`wrote ${done} of ${data.length} bytes`);
    done += n;
  }
}

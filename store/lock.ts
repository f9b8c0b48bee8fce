/**
 * A lock file beside the state file, so two runs never change the same
 * state at once. A lock left by a process that no longer runs is reported
 * and taken over.
 *
 * @module
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { BerthError } from "../core/errors.ts";
import { ownerIsGone } from "../platform/process.ts";

interface LockOwner {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
}

/** A held lock; `release()` removes the file (idempotent). */
export interface StateLock {
  readonly path: string;
  release(): void;
}

/** Options of `lockState`. */
export interface LockOptions {
  /** What holds the lock, for the message another run prints. */
  command: string;
  /** How long to wait for another run to finish; default 0 (refuse at once). */
  waitMs?: number;
  /** Told when a stale lock is taken over. */
  warn?: (message: string) => void;
}

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
    };
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, JSON.stringify(owner));
      } finally {
        closeSync(fd);
      }
      let held = true;
      return {
        path,
        release: () => {
          if (held) rmSync(path, { force: true });
          held = false;
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new BerthError("STATE", `Cannot create lock file "${path}": ${(err as Error).message}`, { cause: err });
      }
    }
    const holder = readOwner(path);
    if (holder !== undefined && ownerIsGone(`${holder.hostname}:${holder.pid}`)) {
      options.warn?.(
        `Lock file "${path}" was left by process ${holder.pid} (${holder.command}, started ${holder.startedAt}), which no longer runs: taking it over`,
      );
      rmSync(path, { force: true });
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
    await sleep(200);
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, "utf8")) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.hostname === "string" ? owner as LockOwner : undefined;
  } catch {
    return undefined; // being written right now, or garbage: treated as held
  }
}

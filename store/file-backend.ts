/**
 * The local state file as a backend: `state-file.ts` and `lock.ts` behind
 * the seam, unchanged.
 *
 * @module
 */
import { readFileSync, rmSync } from "node:fs";
import type { ContainersState } from "../core/model.ts";
import type { HeldLock, LockHolder, LockOptions, StateBackend, StoredState } from "./backend.ts";
import { lockState } from "./lock.ts";
import { readStateFile, writeStateFile } from "./state-file.ts";

/** The state in a local file, locked with a lock file beside it. */
export class FileBackend implements StateBackend {
  readonly description: string;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.description = path;
  }

  read(): Promise<StoredState> {
    return readStateFile(this.#path);
  }

  async lock(options: LockOptions): Promise<HeldLock> {
    const lock = await lockState(this.#path, options);
    // A lock file is never lost while its process runs.
    const lost = new AbortController().signal;
    return {
      lost,
      release: () => {
        lock.release();
        return Promise.resolve();
      },
    };
  }

  write(state: ContainersState): Promise<void> {
    writeStateFile(this.#path, state);
    return Promise.resolve();
  }

  forceUnlock(): Promise<LockHolder | undefined> {
    const path = `${this.#path}.lock`;
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(readFileSync(path, "utf8")) as LockHolder;
    } catch {
      holder = undefined; // no lock file, or an unreadable one: removed all the same
    }
    rmSync(path, { force: true });
    return Promise.resolve(holder);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

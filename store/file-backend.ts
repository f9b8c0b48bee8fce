/**
 * The local state file as a backend: `state-file.ts` and `lock.ts` behind
 * the seam, unchanged.
 *
 * @module
 */
import { readFileSync, rmSync } from "node:fs";
import type { ContainersState } from "../core/model.ts";
import type { StateFormat } from "../core/state-format.ts";
import type { HeldLock, LockHolder, LockOptions, StateBackend, StoredState } from "./backend.ts";
import { lockState } from "./lock.ts";
import { StateTexts } from "../core/state-texts.ts";
import { readStateFile, writeStateText } from "./state-file.ts";

/** The state in a local file, locked with a lock file beside it. */
export class FileBackend implements StateBackend {
  readonly description: string;
  readonly #path: string;
  /** The layout of a new file (`--state-format`); a file already there keeps its own. */
  readonly #newFormat: StateFormat;
  /** The layout writes use: the file's, once read. */
  #format: StateFormat | undefined;
  /** An apply writes the state after every step: only the entries that changed are emitted again. */
  readonly #texts = new StateTexts();
  /** What this backend last wrote: the file holds it while the lock is held. */
  #written: Buffer | undefined;

  constructor(path: string, newFormat: StateFormat = "berth") {
    this.#path = path;
    this.description = path;
    this.#newFormat = newFormat;
  }

  async read(): Promise<StoredState> {
    const loaded = await readStateFile(this.#path);
    this.#format = loaded.existed ? loaded.format : this.#newFormat;
    return loaded;
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

  async write(state: ContainersState): Promise<void> {
    // Written without a read first (state recover): a file already there keeps its layout.
    this.#format ??= await readStateFile(this.#path).then(
      (loaded) => (loaded.existed ? loaded.format : this.#newFormat),
      () => this.#newFormat,
    );
    const bytes = this.#texts.bytes(state, this.#format);
    if (this.#written?.equals(bytes)) return; // a step that changed nothing recorded (a no-op apply)
    await writeStateText(this.#path, bytes);
    this.#written = bytes;
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

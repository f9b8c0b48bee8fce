/**
 * The local state file as a backend: `state-file.ts` and `lock.ts` behind
 * the seam, unchanged.
 *
 * @module
 */
import { readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { Buffer } from "node:buffer";
import type { ContainersState } from "../core/model.ts";
import type { StateFormat } from "../core/state-format.ts";
import type { HeldLock, LockHolder, LockOptions, StateBackend, StoredState } from "./backend.ts";
import { lockState } from "./lock.ts";
import { StateTexts } from "../core/state-texts.ts";
import { readStateFile, writeStateTextAsync } from "./state-file.ts";

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
  /** The bytes the file holds (read at the first write, then as written): the same bytes again are not written. */
  #held: Buffer | undefined;

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
    // A no-op apply asks for writes too: the file already holds them, so nothing is written.
    this.#held ??= await readFile(this.#path).catch(() => undefined);
    if (this.#held?.equals(bytes)) return;
    this.#held = undefined; // a write that fails may leave either
    await writeStateTextAsync(this.#path, bytes);
    this.#held = bytes;
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

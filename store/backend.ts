/**
 * The state backend seam: where the state is kept and how runs exclude each
 * other. The local file (`file-backend.ts`) is the default; etcd
 * (`etcd-backend.ts`) keeps it for teams and CI, with a lock that frees
 * itself when its run dies. `open-backend.ts` picks one.
 *
 * @module
 */
import type { ContainersState } from "../core/model.ts";
import type { StateFormat } from "../core/state-format.ts";

/** What reading the state found. */
export interface StoredState {
  state: ContainersState;
  /** False when there was no state yet (first run). */
  existed: boolean;
  /** Warnings, e.g. a file readable by others. */
  warnings: string[];
  /** etcd's revision of the state (0: none yet); undefined for a file. */
  revision?: number;
  /** A file's layout (see core/state-format.ts); undefined for etcd. */
  format?: StateFormat;
}

/** Who holds a lock, as the lock records it. */
export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
}

/** A held lock. */
export interface HeldLock {
  /** Aborted, with the reason as a BerthError, when the lock was lost (an etcd lease that expired). */
  readonly lost: AbortSignal;
  /** Frees the lock (idempotent; never throws: an etcd lock left behind expires by itself). */
  release(): Promise<void>;
}

/** Options of {@link StateBackend.lock}. */
export interface LockOptions {
  /** What holds the lock, for the message another run prints. */
  command: string;
  /** How long to wait for another run to finish; default 0 (refuse at once). */
  waitMs?: number;
  /** Told when a stale lock is taken over. */
  warn?: (message: string) => void;
}

/** Where the state is kept. */
export interface StateBackend {
  /** The file's path or the etcd URL, for messages (never credentials). */
  readonly description: string;
  /** Reads the state; a write afterwards is refused if someone else wrote in between. */
  read(): Promise<StoredState>;
  /** Takes the lock, or throws naming its holder. */
  lock(options: LockOptions): Promise<HeldLock>;
  /**
   * Writes the whole state. For etcd, only if the stored revision is still
   * the one last read or written and this run still holds its lock.
   */
  write(state: ContainersState): Promise<void>;
  /** Frees a lock whatever holds it; returns the holder it removed, if any. */
  forceUnlock(): Promise<LockHolder | undefined>;
  /** Closes connections. */
  close(): Promise<void>;
}

/** "process 123 on host1 (berth apply, since 2026-...)" */
export function describeHolder(holder: LockHolder): string {
  return `process ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.startedAt})`;
}

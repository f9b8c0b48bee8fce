/**
 * The state in etcd v3: one key `<prefix>state` holding the state document,
 * gzip-compressed (1,000 containers fit well under etcd's 1.5 MiB request
 * limit), and a lock key `<prefix>lock` bound to a lease that the run keeps
 * alive; a killed run's lock disappears when its lease expires.
 *
 * Every write is a transaction conditional on the revision berth last read
 * or wrote, and on the lock key still being the one this run created: a
 * run whose lease expired (partitioned, paused) can never overwrite a newer
 * state, and it learns so before its next step.
 *
 * @module
 */
import { hostname } from "node:os";
import { gunzipSync, gzipSync } from "node:zlib";
import { DEFAULT_LOCK_TTL_MS, type EtcdBackendConfig } from "../core/backend-config.ts";
import { BerthError } from "../core/errors.ts";
import type { ContainersState } from "../core/model.ts";
import { parseDocument, stateFromDocument, stateToYaml } from "../core/serialize.ts";
import {
  describeHolder,
  type HeldLock,
  type LockHolder,
  type LockOptions,
  type StateBackend,
  type StoredState,
} from "./backend.ts";
import { EtcdClient, type EtcdKv } from "./etcd-client.ts";

/** Compressed values above this are refused: base64 in the gateway's JSON must stay under etcd's 1.5 MiB. */
export const MAX_VALUE_BYTES = 1024 * 1024;

interface Held {
  lease: string;
  /** The lock key's create revision: it is ours while it still has this one. */
  revision: number;
  lost: AbortController;
  timer: ReturnType<typeof setInterval>;
}

/** The state and its lock in etcd. */
export class EtcdBackend implements StateBackend {
  readonly description: string;
  readonly #client: EtcdClient;
  readonly #stateKey: string;
  readonly #lockKey: string;
  readonly #ttlMs: number;
  /** Mod revision of the state key last read or written (0: absent); undefined before the first read. */
  #revision: number | undefined;
  #held: Held | undefined;

  constructor(config: EtcdBackendConfig, description: string) {
    this.description = description;
    this.#client = new EtcdClient(config);
    this.#stateKey = `${config.prefix}state`;
    this.#lockKey = `${config.prefix}lock`;
    this.#ttlMs = config.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  }

  async read(): Promise<StoredState> {
    const { kv } = await this.#client.get(this.#stateKey);
    this.#revision = kv?.modRevision ?? 0;
    if (kv === undefined) return { state: {}, existed: false, warnings: [], revision: 0 };
    return { state: this.#decode(kv), existed: true, warnings: [], revision: kv.modRevision };
  }

  async write(state: ContainersState): Promise<void> {
    if (this.#revision === undefined) await this.read();
    const expected = this.#revision as number;
    const value = encodeState(state, this.description);
    const held = this.#held;
    if (held?.lost.signal.aborted) throw held.lost.signal.reason;
    const result = await this.#client.txn(
      [
        { key: this.#stateKey, target: "MOD", revision: expected },
        ...(held === undefined ? [] : [{ key: this.#lockKey, target: "CREATE" as const, revision: held.revision }]),
      ],
      [{ put: { key: this.#stateKey, value } }],
      [{ range: { key: this.#stateKey } }, { range: { key: this.#lockKey } }],
    );
    if (result.succeeded) {
      this.#revision = result.revision;
      return;
    }
    const [now, lock] = result.ranges;
    if (held !== undefined && lock?.createRevision !== held.revision) {
      const err = this.#lostError("its lease expired and the lock key is gone or another run's");
      held.lost.abort(err);
      throw err;
    }
    // A retried request whose first attempt was applied: the value is ours already.
    if (now !== undefined && now.value.equals(value)) {
      this.#revision = now.modRevision;
      return;
    }
    throw new BerthError(
      "STATE",
      `The state in ${this.description} changed since berth read it (revision ${expected}, now ${
        now?.modRevision ?? "deleted"
      }): another run or a push wrote it, and nothing was overwritten. Run again to start from the new state`,
    );
  }

  async lock(options: LockOptions): Promise<HeldLock> {
    const ttlSeconds = Math.max(2, Math.round(this.#ttlMs / 1000));
    let lease = await this.#client.grantLease(ttlSeconds);
    let renewedAt = Date.now();
    const owner: LockHolder = {
      pid: process.pid,
      hostname: hostname(),
      command: options.command,
      startedAt: new Date().toISOString(),
    };
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      // A wait can outlast the lease: keep it alive meanwhile, or take a new one.
      if (Date.now() - renewedAt >= (ttlSeconds * 1000) / 3) {
        const left = await this.#client.keepAlive(lease).catch(() => 0);
        if (left <= 0) lease = await this.#client.grantLease(ttlSeconds);
        renewedAt = Date.now();
      }
      const result = await this.#client.txn(
        [{ key: this.#lockKey, target: "CREATE", revision: 0 }],
        [{ put: { key: this.#lockKey, value: Buffer.from(JSON.stringify(owner)), lease } }],
        [{ range: { key: this.#lockKey } }],
      );
      if (result.succeeded) return this.#hold(lease, result.revision, ttlSeconds);
      const current = result.ranges[0];
      // The same lease holds it: an earlier attempt of this request was applied.
      if (current?.lease === lease) return this.#hold(lease, current.createRevision, ttlSeconds);
      if (Date.now() >= deadline) {
        await this.#client.revokeLease(lease).catch(() => {});
        const holder = current === undefined ? undefined : parseHolder(current);
        throw new BerthError(
          "STATE",
          `State ${this.description} is locked by ${
            holder === undefined ? "another run" : describeHolder(holder)
          }: wait for it to finish (--lock-timeout 5m waits up to 5 minutes). If that run is gone, its lock frees itself when its lease expires (at most ${ttlSeconds} s after it stopped), or run "berth state unlock --force" now`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async forceUnlock(): Promise<LockHolder | undefined> {
    const { kv } = await this.#client.get(this.#lockKey);
    if (kv === undefined) return undefined;
    await this.#client.txn(
      [{ key: this.#lockKey, target: "CREATE", revision: kv.createRevision }],
      [{ delete: { key: this.#lockKey } }],
      [],
    );
    if (kv.lease !== "0") await this.#client.revokeLease(kv.lease).catch(() => {});
    return parseHolder(kv);
  }

  async close(): Promise<void> {
    if (this.#held !== undefined) clearInterval(this.#held.timer);
    await this.#client.close();
  }

  /** Keeps the lease alive every third of its TTL; reports the lock lost once the lease may have expired. */
  #hold(lease: string, revision: number, ttlSeconds: number): HeldLock {
    const lost = new AbortController();
    let lastRenewed = Date.now();
    let renewing = false;
    const timer = setInterval(() => {
      if (renewing || lost.signal.aborted) return;
      renewing = true;
      const signal = AbortSignal.timeout(Math.max(1000, (ttlSeconds * 1000) / 3));
      this.#client.keepAlive(lease, signal).then(
        (ttl) => {
          if (ttl > 0) lastRenewed = Date.now();
          else {lost.abort(
              this.#lostError(
                `its lease ended (expired after ${ttlSeconds} s unrenewed, or the lock was removed with "berth state unlock --force")`,
              ),
            );}
        },
        () => {
          if (Date.now() - lastRenewed >= ttlSeconds * 1000) {
            lost.abort(this.#lostError(`etcd could not be reached to renew it for ${ttlSeconds} s`));
          }
        },
      ).finally(() => (renewing = false));
    }, Math.max(500, (ttlSeconds * 1000) / 3));
    // The renewals alone never keep the process running.
    (timer as { unref?: () => void }).unref?.();
    this.#held = { lease, revision, lost, timer };
    let released = false;
    return {
      lost: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        this.#held = undefined;
        // Else it expires by itself: never hold the run's end up for long.
        await this.#client.revokeLease(lease, AbortSignal.timeout(5000)).catch(() => {});
      },
    };
  }

  #lostError(why: string): BerthError {
    return new BerthError(
      "STATE",
      `Lost the lock on ${this.description}: ${why}. Stopped before the next step; the state there describes every step recorded so far. Run again (a container created but not recorded is adopted)`,
    );
  }

  #decode(kv: EtcdKv): ContainersState {
    let text: string;
    try {
      text = gunzipSync(kv.value).toString("utf8");
    } catch (err) {
      throw new BerthError(
        "STATE",
        `The state in ${this.description} (key ${kv.key}) is not a gzip-compressed state document; it was left untouched. Restore it with "berth state push FILE"`,
        { cause: err },
      );
    }
    try {
      return stateFromDocument(parseDocument(text, this.description), this.description);
    } catch (err) {
      throw new BerthError(
        "STATE",
        `Cannot parse the state in ${this.description}; it was left untouched. Restore it with "berth state push FILE":\n${
          (err as Error).message
        }`,
        { cause: err },
      );
    }
  }
}

/** The state document, gzip-compressed, refused above {@link MAX_VALUE_BYTES}. */
export function encodeState(state: ContainersState, description: string): Buffer {
  const value = gzipSync(stateToYaml(state));
  if (value.length > MAX_VALUE_BYTES) {
    throw new BerthError(
      "STATE",
      `The state (${
        Object.keys(state).length
      } containers) compresses to ${value.length} bytes, over the ${MAX_VALUE_BYTES} bytes berth stores in one etcd key of ${description}: split the fleet into several configs with their own prefixes`,
    );
  }
  return value;
}

function parseHolder(kv: EtcdKv): LockHolder | undefined {
  try {
    const holder = JSON.parse(kv.value.toString("utf8")) as Partial<LockHolder>;
    return typeof holder.pid === "number" && typeof holder.hostname === "string" ? holder as LockHolder : undefined;
  } catch {
    return undefined;
  }
}

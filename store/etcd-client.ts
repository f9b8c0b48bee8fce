/**
 * A small etcd v3 client over etcd's HTTP/JSON gateway (`/v3/kv/range`,
 * `/v3/kv/txn`, `/v3/lease/*`, `/v3/auth/authenticate`), through berth's
 * own HTTP/1.1 client: no gRPC, so it runs alike on Node, Bun, Deno and the
 * compiled binary. Members are tried in order; a member that cannot be
 * reached or has no leader is skipped, and the round is retried until
 * `retryMs` has passed (an election takes about a second).
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { connect as netConnect, isIP } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { EtcdBackendConfig } from "../core/backend-config.ts";
import { BerthError } from "../core/errors.ts";
import { type HttpClient, httpClient } from "../transports/http/http-client.ts";

/** A key-value pair as the gateway returns it (bytes decoded). */
export interface EtcdKv {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  lease: string;
}

/** One comparison of a transaction (`value` compares bytes). */
export type EtcdCompare =
  | { key: string; target: "CREATE" | "MOD"; revision: number }
  | { key: string; target: "LEASE"; lease: string };

/** One operation of a transaction. */
export type EtcdOp =
  | { put: { key: string; value: Uint8Array; lease?: string } }
  | { range: { key: string } }
  | { delete: { key: string } };

/** What a transaction answered: whether the comparisons held, and each range's key (if found). */
export interface EtcdTxnResult {
  succeeded: boolean;
  revision: number;
  ranges: Array<EtcdKv | undefined>;
}

interface Member {
  url: URL;
  client: HttpClient;
}

/** gRPC codes that mean "another member, or a moment later, may answer": Unavailable, DeadlineExceeded. */
const RETRY_CODES = new Set([4, 14]);
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

/** The etcd cluster of one backend. */
export class EtcdClient {
  readonly #members: Member[];
  readonly #config: EtcdBackendConfig;
  readonly #retryMs: number;
  #token: string | undefined;
  #pems: Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> | undefined;

  constructor(config: EtcdBackendConfig, options: { retryMs?: number } = {}) {
    this.#config = config;
    this.#retryMs = options.retryMs ?? 15_000;
    const secure = config.ca !== undefined || config.cert !== undefined;
    this.#members = config.endpoints.map((endpoint) => {
      const url = new URL(/^[a-z]+:\/\//.test(endpoint) ? endpoint : `${secure ? "https" : "http"}://${endpoint}`);
      const description = `etcd member ${url.host}`;
      return {
        url,
        client: httpClient({
          hostHeader: url.host,
          description,
          connectTimeoutMs: 3000,
          maxIdle: 2,
          connect: ({ signal }) => this.#connect(url, signal),
        }),
      };
    });
  }

  /** The key, or undefined when it does not exist. */
  async get(key: string, signal?: AbortSignal): Promise<{ kv: EtcdKv | undefined; revision: number }> {
    const answer = await this.call("/v3/kv/range", { key: b64(key) }, signal);
    const kvs = (answer["kvs"] as RawKv[] | undefined) ?? [];
    return { kv: kvs[0] === undefined ? undefined : decodeKv(kvs[0]), revision: revisionOf(answer) };
  }

  /** If every comparison holds, `success`; else `failure`. */
  async txn(
    compare: EtcdCompare[],
    success: EtcdOp[],
    failure: EtcdOp[],
    signal?: AbortSignal,
  ): Promise<EtcdTxnResult> {
    const answer = await this.call("/v3/kv/txn", {
      compare: compare.map((c) =>
        c.target === "LEASE"
          ? { key: b64(c.key), target: "LEASE", result: "EQUAL", lease: c.lease }
          : c.target === "CREATE"
          ? { key: b64(c.key), target: "CREATE", result: "EQUAL", create_revision: String(c.revision) }
          : { key: b64(c.key), target: "MOD", result: "EQUAL", mod_revision: String(c.revision) }
      ),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    }, signal);
    const responses = (answer["responses"] as Array<Record<string, { kvs?: RawKv[] }>> | undefined) ?? [];
    const ranges = responses.filter((r) => r["response_range"] !== undefined).map((r) => {
      const kv = r["response_range"]?.kvs?.[0];
      return kv === undefined ? undefined : decodeKv(kv);
    });
    return { succeeded: answer["succeeded"] === true, revision: revisionOf(answer), ranges };
  }

  /** A new lease of `ttlSeconds`; returns its ID. */
  async grantLease(ttlSeconds: number, signal?: AbortSignal): Promise<string> {
    const answer = await this.call("/v3/lease/grant", { TTL: String(ttlSeconds) }, signal);
    return String(answer["ID"]);
  }

  /** Renews the lease once; returns its remaining TTL in seconds, 0 when it has expired. */
  async keepAlive(lease: string, signal?: AbortSignal): Promise<number> {
    const answer = await this.call("/v3/lease/keepalive", { ID: lease }, signal);
    const result = (answer["result"] ?? {}) as Record<string, unknown>;
    return Number(result["TTL"] ?? 0);
  }

  /** Revokes the lease, deleting its keys; a lease already gone is fine. */
  async revokeLease(lease: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.call("/v3/kv/lease/revoke", { ID: lease }, signal);
    } catch (err) {
      if (!(err instanceof BerthError && /lease not found/.test(err.message))) throw err;
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.#members.map((m) => m.client.close()));
  }

  /**
   * POSTs a request to the first member that answers, retrying the round
   * while members are unreachable or without a leader.
   *
   * @throws {BerthError} `CONNECT` when no member answered within the retry time; `STATE` for etcd's refusals.
   */
  async call(path: string, body: unknown, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const deadline = Date.now() + this.#retryMs;
    const failures: string[] = [];
    for (let round = 0;; round++) {
      for (const member of this.#members) {
        if (signal?.aborted) throw new BerthError("ABORTED", `etcd request ${path}: aborted`);
        try {
          return await this.#callMember(member, path, body, signal);
        } catch (err) {
          if (!(err instanceof Retryable)) throw err;
          failures.push(`${member.url.host}: ${err.message}`);
        }
      }
      if (Date.now() >= deadline) {
        throw new BerthError(
          "CONNECT",
          `no etcd member of ${this.#describe()} answered ${path} within ${this.#retryMs / 1000} s (${
            failures.slice(-this.#members.length).join("; ")
          }): check that etcd runs and is reachable from here`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** round)));
    }
  }

  async #callMember(
    member: Member,
    path: string,
    body: unknown,
    signal?: AbortSignal,
    loggedInAgain = false,
  ): Promise<Record<string, unknown>> {
    if (this.#config.user !== undefined && this.#token === undefined && path !== "/v3/auth/authenticate") {
      await this.#authenticate(member, signal);
    }
    let response;
    try {
      response = await member.client.request({
        method: "POST",
        path,
        headers: {
          "content-type": "application/json",
          ...(this.#token === undefined ? {} : { authorization: this.#token }),
        },
        body: JSON.stringify(body),
        headersTimeoutMs: 5000,
        idleTimeoutMs: 5000,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (err instanceof BerthError && err.code === "ABORTED") throw err;
      throw new Retryable((err as Error).message);
    }
    const text = await response.text().catch((err: Error) => {
      throw new Retryable(err.message);
    });
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {
      if (text.includes("CommonName")) {
        throw new BerthError(
          "STATE",
          `etcd at ${member.url.host} refused the client certificate: ${text.trim()}. etcd's HTTP gateway accepts only client certificates without a CN (common name); issue one without it`,
        );
      }
      if (response.status >= 500) throw new Retryable(`HTTP ${response.status}`);
      throw new BerthError(
        "STATE",
        `etcd at ${member.url.host} answered ${path} with HTTP ${response.status}: ${text.slice(0, 200)}`,
      );
    }
    // Streaming calls (keepalive) wrap an error as {error: {grpc_code, message}}.
    const raw = answer["error"] as string | { grpc_code?: number; message?: string } | undefined;
    const error = typeof raw === "object" ? String(raw.message) : raw;
    if (response.status === 200 && error === undefined) return answer;
    const code = Number(typeof raw === "object" ? raw.grpc_code : answer["code"] ?? 0);
    if (RETRY_CODES.has(code) || response.status === 503) throw new Retryable(error ?? `HTTP ${response.status}`);
    const tokenRefused = /invalid auth token|auth token is expired/.test(error ?? "");
    if (this.#config.user !== undefined && tokenRefused && !loggedInAgain) {
      this.#token = undefined; // simple tokens expire after 5 minutes unused: log in again, once
      await this.#authenticate(member, signal);
      return this.#callMember(member, path, body, signal, true);
    }
    return failWith(member, path, error ?? `HTTP ${response.status}`);
  }

  async #authenticate(member: Member, signal?: AbortSignal): Promise<void> {
    try {
      const answer = await this.#callMember(member, "/v3/auth/authenticate", {
        name: this.#config.user,
        password: this.#config.password ?? "",
      }, signal);
      this.#token = String(answer["token"]);
    } catch (err) {
      if (err instanceof Retryable) throw err;
      throw new BerthError(
        "AUTH",
        `logging in to etcd at ${member.url.host} as user "${this.#config.user}": ${
          (err as Error).message
        }. Check backend.etcd.user and password`,
        { cause: err },
      );
    }
  }

  async #connect(url: URL, signal: AbortSignal): Promise<Duplex> {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || 2379);
    if (url.protocol !== "https:") return await opened(netConnect({ host, port, noDelay: true }), "connect", signal);
    this.#pems ??= readPems(this.#config).catch((err: unknown) => {
      this.#pems = undefined;
      throw err;
    });
    const pems = await this.#pems;
    const socket = tlsConnect({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ["http/1.1"],
      ...pems,
    });
    return await opened(socket, "secureConnect", signal);
  }

  #describe(): string {
    return `etcd://${this.#config.endpoints.join(",")}`;
  }
}

/** A failure another member, or the next round, may not have. */
class Retryable extends Error {}

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}

function decodeKv(kv: RawKv): EtcdKv {
  return {
    key: Buffer.from(kv.key, "base64").toString(),
    value: Buffer.from(kv.value ?? "", "base64"),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    lease: kv.lease ?? "0",
  };
}

function encodeOp(op: EtcdOp): unknown {
  if ("put" in op) {
    return {
      request_put: {
        key: b64(op.put.key),
        value: b64(op.put.value),
        ...(op.put.lease === undefined ? {} : { lease: op.put.lease }),
      },
    };
  }
  if ("range" in op) return { request_range: { key: b64(op.range.key) } };
  return { request_delete_range: { key: b64(op.delete.key) } };
}

function revisionOf(answer: Record<string, unknown>): number {
  return Number((answer["header"] as { revision?: string } | undefined)?.revision ?? 0);
}

function failWith(member: Member, path: string, message: string): never {
  throw new BerthError("STATE", `etcd at ${member.url.host} refused ${path}: ${message}`);
}

async function readPems(config: EtcdBackendConfig): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer }> {
  const read = async (what: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new BerthError(
        "VALIDATION",
        `reading the etcd ${what} "${path}" (backend.etcd): ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  const [ca, cert, key] = await Promise.all([
    read("CA", config.ca),
    read("client certificate", config.cert),
    read("client key", config.key),
  ]);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}

function opened<T extends Duplex>(socket: T, event: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => fail(new Error("connect aborted"));
    const fail = (err: Error) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    socket.once("error", fail);
    socket.once(event, () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", fail);
      resolve(socket);
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

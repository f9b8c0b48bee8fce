/**
 * A small HTTP/1.1 client over duplex streams handed out by a connect
 * function (a unix socket, a TLS socket, an SSH channel). It keeps
 * connections alive and reuses them, streams request and response bodies,
 * and has one timeout per phase: connect, response headers, body idle.
 *
 * Why not a library (measured on Node 20.20, Bun 1.4.5, Deno 2.9.6):
 * - `undici` is not a dependency Node ships importable, and Bun's built-in
 *   `undici` is a stub: `Client#request` returns `undefined`, `Agent` has no
 *   `dispatch`, and `request(url, { dispatcher })` ignores the dispatcher's
 *   `connect`, dialling the URL itself. No custom stream can be plugged in.
 * - `node:http` over a plain Duplex (what an SSH channel is) does one request
 *   on all three, but a keep-alive `Agent` calls `socket.setKeepAlive()` and
 *   `req.setTimeout()` calls `socket.setTimeout()`: both throw an uncaught
 *   TypeError on all three and the request hangs. Pooling works only with
 *   no-op socket methods patched on, and then timeouts silently do nothing.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { abortedError, BerthError, outOfReach } from "../../core/errors.ts";
import { HttpConnection } from "./http-connection.ts";

/** Opens a new stream to the server. */
export type Connect = (options: { signal: AbortSignal }) => Promise<Duplex>;

/** One request. */
export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "DELETE";
  /** Path with query string. */
  path: string;
  headers?: Record<string, string>;
  /** A fixed body, or a stream sent with chunked encoding. */
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
  /** Time allowed from sending until the response headers are in; default 60 s. */
  headersTimeoutMs?: number;
  /** Time allowed without any byte while reading the body; default 60 s. */
  idleTimeoutMs?: number;
}

/** A response whose body must be consumed (or discarded) to free the connection. */
export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: AsyncIterable<Buffer>;
  bytes(): Promise<Buffer>;
  text(): Promise<string>;
  /** Reads and drops the body. */
  discard(): Promise<void>;
}

/** The client behind the Docker plugin. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Destroys every connection. */
  close(): Promise<void>;
}

/** Settings of {@link httpClient}. */
export interface HttpClientOptions {
  connect: Connect;
  /** Value of the `Host` header. */
  hostHeader: string;
  /** What the server is, for error messages. */
  description: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Idle connections kept; default 4. */
  maxIdle?: number;
  /** How long an idle connection is kept before it is closed; default 4 s (servers drop theirs too). */
  keepAliveTimeoutMs?: number;
}

const MAX_HEADER_BYTES = 64 * 1024;
const HEADER_END = Buffer.from("\r\n\r\n");
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000;

/**
 * Creates a keep-alive HTTP/1.1 client.
 *
 * @param options How to open connections and how to name the server.
 * @returns The client; `close()` it when done.
 *
 * @example
 * ```ts
 * import { connect } from "node:net";
 * import { once } from "node:events";
 * import { httpClient } from "./http-client.ts";
 * const client = httpClient({
 *   hostHeader: "docker",
 *   description: "engine",
 *   connect: async () => {
 *     const socket = connect({ path: "/var/run/docker.sock" });
 *     await once(socket, "connect");
 *     return socket;
 *   },
 * });
 * await client.close();
 * ```
 */
export function httpClient(options: HttpClientOptions): HttpClient {
  const idle: HttpConnection[] = [];
  const all = new Set<HttpConnection>();
  const maxIdle = options.maxIdle ?? 4;
  const keepAliveMs = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  const expiry = new Map<HttpConnection, ReturnType<typeof setTimeout>>();
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  let closed = false;

  async function open(signal: AbortSignal | undefined): Promise<HttpConnection> {
    const timeout = AbortSignal.timeout(connectTimeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const stream = await options.connect({ signal: combined });
      const conn = new HttpConnection(stream);
      all.add(conn);
      stream.once("close", () => all.delete(conn));
      return conn;
    } catch (err) {
      if (signal?.aborted) throw abortedError(`request to ${options.description}`, signal);
      if (timeout.aborted) {
        throw new BerthError(
          "CONNECT",
          `connecting to ${options.description}: no connection after ${connectTimeoutMs} ms`,
          { cause: err },
        );
      }
      if (err instanceof BerthError) throw err;
      throw new BerthError("CONNECT", `connecting to ${options.description}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  function acquireIdle(): HttpConnection | undefined {
    for (let conn = idle.pop(); conn !== undefined; conn = idle.pop()) {
      clearTimeout(expiry.get(conn));
      expiry.delete(conn);
      if (conn.reusable) {
        conn.setIdle(false);
        return conn;
      }
      conn.destroy();
    }
    return undefined;
  }

  function release(conn: HttpConnection): void {
    if (closed || !conn.reusable || idle.length >= maxIdle) {
      conn.destroy();
      return;
    }
    conn.setIdle(true);
    idle.push(conn);
    const timer = setTimeout(() => {
      expiry.delete(conn);
      idle.splice(idle.indexOf(conn), 1);
      conn.destroy();
    }, keepAliveMs);
    (timer as { unref?: () => void }).unref?.();
    expiry.set(conn, timer);
  }

  async function request(req: HttpRequest): Promise<HttpResponse> {
    if (closed) throw new BerthError("CONNECT", `${options.description}: client closed`);
    if (req.signal?.aborted) throw abortedError(`request to ${options.description}`, req.signal);
    const reused = acquireIdle();
    const conn = reused ?? (await open(req.signal));
    try {
      return await exchange(conn, req, release, options);
    } catch (err) {
      // A kept-alive connection the server closed meanwhile: retry once on a new one, when that is safe; not when
      // the way to the host went (an SSH connection lost): a new connection would only wait for a host that is gone.
      const safe = req.method === "GET" || req.method === "HEAD";
      if (reused !== undefined && safe && err instanceof ClosedBeforeResponse && !outOfReach(err.cause)) {
        return exchange(await open(req.signal), req, release, options);
      }
      throw err;
    }
  }

  return {
    request: async (req) => {
      try {
        return await request(req);
      } catch (err) {
        if (err instanceof ClosedBeforeResponse) {
          throw new BerthError("ENGINE", `${options.description}: no response: ${err.message}`, {
            cause: err.cause ?? err,
          });
        }
        throw err;
      }
    },
    close: () => {
      closed = true;
      idle.length = 0;
      for (const timer of expiry.values()) clearTimeout(timer);
      expiry.clear();
      for (const conn of all) conn.destroy();
      all.clear();
      return Promise.resolve();
    },
  };
}

class ClosedBeforeResponse extends Error {}

function serializeHead(req: HttpRequest, hostHeader: string, bodyHeader: string): string {
  let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: berth\r\n`;
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`Header "${name}" contains a line break`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}${bodyHeader}\r\n`;
}

/** Sends one request on `conn` and reads the response head. */
async function exchange(
  conn: HttpConnection,
  req: HttpRequest,
  release: (conn: HttpConnection) => void,
  options: HttpClientOptions,
): Promise<HttpResponse> {
  const what = `${req.method} ${req.path.split("?")[0]} on ${options.description}`;
  const signal = req.signal;
  const onAbort = () => conn.fail(abortedError(`request to ${options.description}`, signal as AbortSignal));
  signal?.addEventListener("abort", onAbort, { once: true });
  const done = () => signal?.removeEventListener("abort", onAbort);

  const idleMs = req.idleTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const write = (data: Uint8Array | string) => conn.write(data, idleMs, what);
  let stopSending = false;
  let sending: Promise<void>;
  const body = req.body;
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) {
    const bytes = body === undefined ? undefined : typeof body === "string" ? Buffer.from(body) : body;
    const bodyHeader = bytes === undefined && req.method !== "POST" && req.method !== "PUT"
      ? ""
      : `Content-Length: ${bytes?.length ?? 0}\r\n`;
    const head = Buffer.from(serializeHead(req, options.hostHeader, bodyHeader));
    sending = write(bytes === undefined || bytes.length === 0 ? head : Buffer.concat([head, bytes]));
  } else {
    const head = serializeHead(req, options.hostHeader, "Transfer-Encoding: chunked\r\n");
    sending = (async () => {
      await write(head);
      for await (const chunk of body) {
        if (stopSending) return;
        if (chunk.length === 0) continue;
        await write(`${chunk.length.toString(16)}\r\n`);
        await write(chunk);
        await write("\r\n");
      }
      if (!stopSending) await write("0\r\n\r\n");
    })();
  }
  // A failed send fails the reads; the response head (already received, or the error) wins.
  const sent = sending.then(
    () => true,
    (err: unknown) => {
      if (!stopSending) conn.fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    },
  );

  // The headers timeout runs once the request is sent; sending itself is bounded by the idle timeout.
  const headersTimeoutMs = req.headersTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  let headersTimer: ReturnType<typeof setTimeout> | undefined;
  let headersIn = false;
  void sent.then(() => {
    if (headersIn) return;
    headersTimer = setTimeout(() => {
      conn.fail(new BerthError("TIMEOUT", `${what}: no response within ${headersTimeoutMs} ms`));
    }, headersTimeoutMs);
  });
  let head: Buffer;
  try {
    let first: Buffer | null;
    try {
      first = await conn.read(undefined, what);
    } catch (err) {
      if (err instanceof BerthError && (err.code === "ABORTED" || err.code === "TIMEOUT")) throw err;
      throw new ClosedBeforeResponse((err as Error).message, { cause: err });
    }
    if (first === null) throw new ClosedBeforeResponse("connection closed");
    conn.unread(first);
    head = await conn.readUntil(HEADER_END, MAX_HEADER_BYTES, undefined, what);
    // Interim responses (100 Continue, 102, 103; not 101, which ends HTTP) precede the final one: skip them.
    while (/^HTTP\/1\.[01] 1(?!01)\d\d\b/.test(head.toString("latin1", 0, 16))) {
      head = await conn.readUntil(HEADER_END, MAX_HEADER_BYTES, undefined, what);
    }
  } catch (err) {
    done();
    conn.destroy();
    throw err;
  } finally {
    headersIn = true;
    clearTimeout(headersTimer);
  }

  const { status, headers, keepAlive } = parseHead(head, what);
  let reusable = keepAlive;
  const finishedSending = await Promise.race([sent, Promise.resolve(undefined)]);
  if (finishedSending === undefined) {
    // The server answered before reading the whole body (usually an error): stop sending, do not reuse.
    stopSending = true;
    reusable = false;
  }

  const noBody = req.method === "HEAD" || status === 204 || status === 304;
  const length = headers["content-length"];
  const chunked = /\bchunked\b/i.test(headers["transfer-encoding"] ?? "");
  let source: AsyncGenerator<Buffer>;
  if (noBody) source = empty();
  else if (chunked) source = chunkedBody(conn, idleMs, what);
  else if (length !== undefined) source = fixedBody(conn, parseLength(length, what), idleMs, what);
  else {
    reusable = false;
    source = untilClose(conn, idleMs, what);
  }

  let consumed = false;
  async function* bodyStream(): AsyncGenerator<Buffer> {
    let complete = false;
    try {
      yield* source;
      complete = true;
    } finally {
      consumed = true;
      done();
      if (complete && reusable && (await sent)) release(conn);
      else conn.destroy();
    }
  }
  const stream = bodyStream();
  if (noBody) {
    // Free the connection right away; nothing to read.
    await stream.next();
  }

  const bytes = async () => {
    if (consumed) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk);
    return Buffer.concat(parts);
  };
  return {
    status,
    headers,
    body: stream,
    bytes,
    text: async () => (await bytes()).toString("utf8"),
    discard: async () => {
      if (consumed) return;
      for await (const _ of stream) {
        // drained
      }
    },
  };
}

function parseHead(
  head: Buffer,
  what: string,
): { status: number; headers: Record<string, string>; keepAlive: boolean } {
  const lines = head.toString("latin1").split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  if (statusLine === null) {
    throw new BerthError("ENGINE", `${what}: not an HTTP response: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  }
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const connection = (headers["connection"] ?? "").toLowerCase();
  const keepAlive = statusLine[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
  return { status: Number(statusLine[2]), headers, keepAlive };
}

function parseLength(value: string, what: string): number {
  if (!/^\d+$/.test(value)) throw new BerthError("ENGINE", `${what}: bad Content-Length ${JSON.stringify(value)}`);
  return Number(value);
}

async function* empty(): AsyncGenerator<Buffer> {}

async function* fixedBody(conn: HttpConnection, length: number, idleMs: number, what: string): AsyncGenerator<Buffer> {
  let remaining = length;
  while (remaining > 0) {
    const chunk = await conn.readUpTo(remaining, idleMs, what);
    if (chunk === null) {
      throw new BerthError("ENGINE", `${what}: connection closed with ${remaining} body bytes missing`);
    }
    remaining -= chunk.length;
    yield chunk;
  }
}

async function* chunkedBody(conn: HttpConnection, idleMs: number, what: string): AsyncGenerator<Buffer> {
  for (;;) {
    const sizeLine = (await conn.readLine(1024, idleMs, what)).toString("latin1");
    // chunk-size is 1*HEXDIG, then optional extensions (RFC 9112 7.1); parseInt would take "1g" as 1.
    const hex = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(sizeLine)?.[1];
    if (hex === undefined) throw new BerthError("ENGINE", `${what}: bad chunk size ${JSON.stringify(sizeLine)}`);
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      // Trailers, up to the empty line.
      while ((await conn.readLine(MAX_HEADER_BYTES, idleMs, what)).length > 0) {
        // ignored
      }
      return;
    }
    yield* fixedBody(conn, size, idleMs, what);
    if ((await conn.readLine(2, idleMs, what)).length !== 0) {
      throw new BerthError("ENGINE", `${what}: chunk not followed by CRLF`);
    }
  }
}

async function* untilClose(conn: HttpConnection, idleMs: number, what: string): AsyncGenerator<Buffer> {
  for (let chunk = await conn.read(idleMs, what); chunk !== null; chunk = await conn.read(idleMs, what)) yield chunk;
}

/**
 * A minimal gRPC client for unary calls over HTTP/2 on any duplex stream a
 * transport hands out (a local unix socket or an SSH channel): one HTTP/2
 * session, opened on first use and again after it closes. Messages are
 * length-prefixed protobuf; the outcome is the `grpc-status` trailer.
 *
 * @module
 */
import { once } from "node:events";
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import type { Duplex } from "node:stream";
import { abortedError, BerthError, type ErrorCode } from "../../core/errors.ts";

/** Encodes a request / decodes a response of one method. */
export interface MethodCodec {
  path: string;
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

/** Options of one call. */
export interface UnaryOptions {
  signal?: AbortSignal;
  /** Whole-call deadline; default 60 s. */
  timeoutMs?: number;
}

/** Settings of {@link grpcClient}. */
export interface GrpcClientOptions {
  /** Opens the byte stream the HTTP/2 session runs on. */
  open(signal?: AbortSignal): Promise<Duplex>;
  /** The server, for messages (`containerd at unix:///run/containerd/containerd.sock on host h1`). */
  description: string;
}

/** A gRPC client bound to one server. */
export interface GrpcClient {
  unary<T>(method: MethodCodec, request: unknown, options?: UnaryOptions): Promise<T>;
  close(): Promise<void>;
}

/** A gRPC status code with what it means for berth. */
const STATUS_CODES: Record<number, { name: string; code: ErrorCode }> = {
  1: { name: "CANCELLED", code: "ABORTED" },
  2: { name: "UNKNOWN", code: "ENGINE" },
  3: { name: "INVALID_ARGUMENT", code: "BAD_PARAMETER" },
  4: { name: "DEADLINE_EXCEEDED", code: "TIMEOUT" },
  5: { name: "NOT_FOUND", code: "NOT_FOUND" },
  6: { name: "ALREADY_EXISTS", code: "CONFLICT" },
  7: { name: "PERMISSION_DENIED", code: "ENGINE" },
  8: { name: "RESOURCE_EXHAUSTED", code: "ENGINE" },
  9: { name: "FAILED_PRECONDITION", code: "CONFLICT" },
  10: { name: "ABORTED", code: "CONFLICT" },
  11: { name: "OUT_OF_RANGE", code: "BAD_PARAMETER" },
  12: { name: "UNIMPLEMENTED", code: "ENGINE_TOO_OLD" },
  13: { name: "INTERNAL", code: "ENGINE" },
  14: { name: "UNAVAILABLE", code: "CONNECT" },
  15: { name: "DATA_LOSS", code: "ENGINE" },
  16: { name: "UNAUTHENTICATED", code: "AUTH" },
};

/** An error answered by the server, with its gRPC status. */
export class GrpcStatusError extends BerthError {
  readonly grpcStatus: number;
  constructor(status: number, message: string) {
    const known = STATUS_CODES[status];
    super(known?.code ?? "ENGINE", `${message} (gRPC ${known?.name ?? status})`);
    this.grpcStatus = status;
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_MESSAGE = 64 * 1024 * 1024;

/**
 * Creates a client. Nothing is connected until the first call.
 *
 * @example
 * ```ts
 * import { grpcClient } from "./grpc.ts";
 * import { directTransport } from "../../transports/direct.ts";
 * const transport = directTransport();
 * const client = grpcClient({ open: (signal) => transport.openUnixSocket("/run/containerd/containerd.sock", signal ? { signal } : {}), description: "containerd" });
 * await client.close();
 * ```
 */
export function grpcClient(options: GrpcClientOptions): GrpcClient {
  let session: Promise<ClientHttp2Session> | undefined;
  let inFlight = 0;
  // Deno's http2 cannot (un)ref a session on a stream that is not a socket (an SSH channel).
  let refable = false;

  function sessionFor(signal?: AbortSignal): Promise<ClientHttp2Session> {
    if (session !== undefined) return session;
    const opening = (async () => {
      const stream = await options.open(signal);
      refable = typeof (stream as Duplex & { unref?: unknown }).unref === "function";
      const s = connect("http://localhost", { createConnection: () => stream as never });
      const forget = () => {
        if (session === opening) session = undefined;
      };
      s.once("close", forget);
      s.once("goaway", forget);
      s.on("error", forget);
      // An idle session must not keep the process alive; calls in flight do (see `unary`).
      if (refable) s.unref();
      return s;
    })();
    session = opening;
    opening.catch(() => {
      if (session === opening) session = undefined;
    });
    return opening;
  }

  async function unary<T>(method: MethodCodec, request: unknown, callOptions: UnaryOptions = {}): Promise<T> {
    const timeoutMs = callOptions.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = callOptions.signal === undefined ? deadline : AbortSignal.any([callOptions.signal, deadline]);
    const doing = `${method.path.slice(method.path.lastIndexOf("/") + 1)} on ${options.description}`;
    if (signal.aborted) throw abortedError(doing, callOptions.signal, timeoutMs);
    let s: ClientHttp2Session;
    try {
      s = await sessionFor(signal);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError("CONNECT", `${doing}: ${(err as Error).message}`, { cause: err });
    }
    const body = frame(method.serialize(request));
    inFlight++;
    if (refable) s.ref();
    return new Promise<T>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = s.request({
          [constants.HTTP2_HEADER_METHOD]: "POST",
          [constants.HTTP2_HEADER_PATH]: method.path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": `${Math.max(1, Math.ceil(timeoutMs))}m`,
        });
      } catch (err) {
        session = undefined;
        if (--inFlight === 0 && refable && !s.destroyed) s.unref();
        reject(new BerthError("CONNECT", `${doing}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      const chunks: Buffer[] = [];
      let headers: Record<string, unknown> = {};
      let settled = false;
      const finish = (err: Error | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        if (--inFlight === 0 && refable && !s.destroyed) s.unref();
        if (err === undefined) resolve(value as T);
        else reject(err);
      };
      const onAbort = () => {
        stream.close(constants.NGHTTP2_CANCEL);
        finish(abortedError(doing, callOptions.signal, timeoutMs));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      stream.on("response", (h) => (headers = h));
      let received = 0;
      let announced = 0;
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        // Checked as bytes arrive, so a server that announces or streams too much cannot fill the memory.
        if (received >= 5 && received - chunk.length < 5) announced = Buffer.concat(chunks).readUInt32BE(1);
        if (announced > MAX_MESSAGE || received > 5 + MAX_MESSAGE) {
          stream.close(constants.NGHTTP2_CANCEL);
          finish(new BerthError("ENGINE", `${doing}: the answer is larger than ${MAX_MESSAGE} bytes`));
        }
      });
      stream.on("error", (err) => finish(new BerthError("CONNECT", `${doing}: ${err.message}`, { cause: err })));
      stream.on("trailers", (t) => (headers = { ...headers, ...t }));
      stream.on("close", () => {
        if (settled) return;
        const status = headers["grpc-status"];
        if (status === undefined) {
          const httpStatus = headers[constants.HTTP2_HEADER_STATUS];
          finish(
            new BerthError(
              "CONNECT",
              `${doing}: the connection closed without a gRPC status${
                httpStatus === undefined ? "" : ` (HTTP ${String(httpStatus)})`
              }`,
            ),
          );
          return;
        }
        if (Number(status) !== 0) {
          const message = grpcMessage(headers["grpc-message"]);
          finish(new GrpcStatusError(Number(status), `${doing}: ${message}`));
          return;
        }
        try {
          finish(undefined, method.deserialize(unframe(Buffer.concat(chunks), doing)) as T);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      });
      stream.end(body);
    });
  }

  return {
    unary,
    async close() {
      const current = session;
      session = undefined;
      if (current === undefined) return;
      const s = await current.catch(() => undefined);
      if (s === undefined || s.closed || s.destroyed) return;
      // The idle session is unref'd and AbortSignal.timeout() holds nothing: without a ref, Node
      // would end the process (exit 13, the close still pending) before the session closed.
      if (refable) s.ref();
      const closed = once(s, "close", { signal: AbortSignal.timeout(2_000) });
      s.close();
      await closed.catch(() => s.destroy());
    },
  };
}

/**
 * The `grpc-message` trailer, percent-decoded. A malformed encoding is shown
 * as sent: the gRPC spec says never to fail or drop the message for it.
 */
function grpcMessage(value: unknown): string {
  const text = String(value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function unframe(data: Buffer, doing: string): Uint8Array {
  if (data.length < 5) throw new BerthError("ENGINE", `${doing}: the answer has no message`);
  if (data[0] !== 0) throw new BerthError("ENGINE", `${doing}: the answer is compressed, which berth does not ask for`);
  const length = data.readUInt32BE(1);
  if (length > MAX_MESSAGE || data.length < 5 + length) {
    throw new BerthError("ENGINE", `${doing}: the answer is truncated or too large`);
  }
  return data.subarray(5, 5 + length);
}

/**
 * Runs a command through the CRI streaming server: `Exec` hands out a URL
 * (`http://127.0.0.1:<port>/exec/<token>` on the runtime's host), reached
 * through the transport and spoken as a WebSocket with the
 * `v4.channel.k8s.io` protocol: every message starts with its channel byte
 * (0 stdin, 1 stdout, 2 stderr, 3 the exit status as JSON).
 *
 * v4 cannot half-close stdin, so a command reading stdin must know where it
 * ends (`head -c N | tar -x`); the exit status then arrives on channel 3.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import { abortedError, BerthError } from "../../core/errors.ts";

/** What a command produced. */
export interface ExecResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}

/** Options of {@link runExecStream}. */
export interface ExecStreamOptions {
  /** Bytes sent on stdin, in slices. */
  stdin?: AsyncIterable<Uint8Array> | Uint8Array;
  signal?: AbortSignal;
  /** Opens the TCP connection to the streaming server, as seen from the runtime's host. */
  openTcp(host: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /** Fails after this long without a finished command; default 120 s. */
  timeoutMs?: number;
  /** What is being done, for messages. */
  doing: string;
}

const PROTOCOL = "v4.channel.k8s.io";
const STDIN_SLICE = 256 * 1024;

/**
 * Connects to the exec URL, sends stdin, collects stdout and stderr until
 * the status message, and returns them with the exit code.
 *
 * @throws {BerthError} CONNECT when the server cannot be reached, TIMEOUT / ABORTED, ENGINE for a broken answer.
 */
export async function runExecStream(url: string, options: ExecStreamOptions): Promise<ExecResult> {
  const { doing } = options;
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new BerthError("ENGINE", `${doing}: unexpected exec URL "${url}"`);
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  const port = Number(target.port || (target.protocol === "https:" ? 443 : 80));
  let socket: Duplex;
  try {
    socket = await options.openTcp(target.hostname, port, signal);
  } catch (err) {
    if (err instanceof BerthError) {
      throw new BerthError(err.code, `${doing}: reaching the exec stream at ${target.host}: ${err.message}`, {
        cause: err,
      });
    }
    throw new BerthError("CONNECT", `${doing}: reaching the exec stream at ${target.host}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const wsUrl = `${target.protocol === "https:" ? "wss" : "ws"}://${target.host}${target.pathname}${target.search}`;
  const ws = new WebSocket(wsUrl, [PROTOCOL], {
    createConnection: (() => socket) as never,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  ws.binaryType = "nodebuffer";

  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let status: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: BerthError) => {
        cleanup();
        ws.terminate();
        reject(err);
      };
      const onAbort = () => fail(abortedError(doing, options.signal, timeoutMs));
      const cleanup = () => signal.removeEventListener("abort", onAbort);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      ws.on("unexpected-response", (_req, res) => {
        fail(
          new BerthError(
            "ENGINE",
            `${doing}: the exec stream answered HTTP ${res.statusCode ?? "?"} instead of a WebSocket`,
          ),
        );
      });
      ws.on("error", (err) => fail(new BerthError("CONNECT", `${doing}: exec stream: ${err.message}`, { cause: err })));
      ws.on("open", () => {
        if (ws.protocol !== PROTOCOL) {
          return fail(new BerthError("ENGINE", `${doing}: the exec stream does not speak ${PROTOCOL}`));
        }
        if (options.stdin !== undefined) {
          sendStdin(ws, options.stdin).catch((err: Error) =>
            fail(new BerthError("CONNECT", `${doing}: sending input: ${err.message}`, { cause: err }))
          );
        }
      });
      ws.on("message", (data: Buffer) => {
        if (data.length === 0) return;
        const payload = data.subarray(1);
        if (data[0] === 1) stdout.push(payload);
        else if (data[0] === 2) stderr.push(payload);
        else if (data[0] === 3) status = payload.toString("utf8");
      });
      ws.on("close", () => {
        cleanup();
        resolve();
      });
    });
  } finally {
    socket.destroy();
  }
  if (status === undefined) throw new BerthError("ENGINE", `${doing}: the exec stream closed without an exit status`);
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: exitCodeOf(status, doing) };
}

async function sendStdin(ws: WebSocket, stdin: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
  const send = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const message = Buffer.alloc(chunk.length + 1);
      message.set(chunk, 1);
      ws.send(message, { binary: true }, (err) => (err ? reject(err) : resolve()));
    });
  const source = stdin instanceof Uint8Array ? [stdin] : stdin;
  for await (const chunk of source) {
    for (let offset = 0; offset < chunk.length; offset += STDIN_SLICE) {
      await send(chunk.subarray(offset, offset + STDIN_SLICE));
    }
  }
}

/** `{"status":"Success"}` -> 0; a NonZeroExitCode failure -> its code. */
function exitCodeOf(status: string, doing: string): number {
  let parsed: {
    status?: string;
    message?: string;
    details?: { causes?: Array<{ reason?: string; message?: string }> };
  };
  try {
    parsed = JSON.parse(status) as typeof parsed;
  } catch (err) {
    throw new BerthError("ENGINE", `${doing}: unreadable exit status ${JSON.stringify(status)}`, { cause: err });
  }
  if (parsed.status === "Success") return 0;
  const code = parsed.details?.causes?.find((c) => c.reason === "ExitCode")?.message;
  if (code !== undefined && /^\d+$/.test(code)) return Number(code);
  throw new BerthError("ENGINE", `${doing}: ${parsed.message ?? status}`);
}

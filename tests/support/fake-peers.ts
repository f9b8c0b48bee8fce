/**
 * Misbehaving peers on 127.0.0.1 for fault tests: a "Docker engine" that
 * speaks bad HTTP, an "SSH server" that sends a banner and then garbage or
 * nothing, and a small well-behaved engine whose answers a test chooses
 * (e.g. a crafted tar archive). Each records how many connections it took
 * and how many times it misbehaved, so a test counts a fault that landed.
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server, type Socket } from "node:net";

/** A listening fake peer. */
export interface FakePeer {
  port: number;
  /** `tcp://127.0.0.1:PORT`. */
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Times it misbehaved so far (a bad answer, or a connection held silent); always 0 for {@link fakeEngine}. */
  readonly misbehaved: number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** How the bad HTTP peer answers. */
export type BadHttp =
  | "truncated" // a response cut off in the middle of its headers
  | "slow-headers" // a header byte every 200 ms, never finishing
  | "garbage" // random bytes instead of HTTP
  | "close-mid-body" // headers promise 1000 bytes, 10 come, then the connection closes
  | "silent" // accepts and never answers
  | "reset"; // closes each connection at once

/** Options of {@link badHttpPeer}. */
export interface BadHttpOptions {
  /** Answer `GET /_ping` correctly (API 1.41) and misbehave only on later requests. */
  healthyPing?: boolean;
}

/** A TCP server that speaks bad HTTP, to be used as a `tcp://` Docker engine. */
export function badHttpPeer(behaviour: BadHttp, options: BadHttpOptions = {}): Promise<FakePeer> {
  return listen((socket, timers, landed) => {
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("latin1");
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      const requestLine = buffered.slice(0, buffered.indexOf("\r\n"));
      buffered = "";
      if (options.healthyPing === true && / \/_ping /.test(requestLine)) {
        socket.write("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK");
        return;
      }
      landed();
      misbehave(behaviour, socket, timers);
    });
  });
}

function misbehave(behaviour: BadHttp, socket: Socket, timers: Set<ReturnType<typeof setInterval>>): void {
  switch (behaviour) {
    case "truncated":
      socket.end("HTTP/1.1 200 OK\r\nContent-Ty");
      return;
    case "slow-headers": {
      socket.write("HTTP/1.1 200 OK\r\n");
      const timer = setInterval(() => socket.write("X"), 200);
      timers.add(timer);
      socket.on("close", () => clearInterval(timer));
      return;
    }
    case "garbage":
      socket.end(Buffer.concat([Buffer.from("\u0000\u00ffNOT-HTTP "), randomBytes(512), Buffer.from("\r\n\r\n")]));
      return;
    case "close-mid-body":
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"Id":"abc');
      setTimeout(() => socket.destroy(), 50);
      return;
    case "silent":
      return;
    case "reset":
      socket.destroy();
      return;
  }
}

/** How the bad SSH peer behaves after accepting. */
export type BadSsh =
  | "banner-then-garbage" // a valid banner, then random bytes
  | "banner-then-nothing" // a valid banner, then silence
  | "silent"; // no banner at all

/** A TCP server posing as an SSH server. */
export function badSshPeer(behaviour: BadSsh): Promise<FakePeer> {
  return listen((socket, timers, landed) => {
    landed();
    if (behaviour === "silent") return;
    socket.write("SSH-2.0-OpenSSH_9.2p1 fake\r\n");
    if (behaviour === "banner-then-garbage") {
      const timer = setInterval(() => socket.write(randomBytes(64)), 50);
      timers.add(timer);
      socket.on("close", () => clearInterval(timer));
    }
  });
}

/** A test-chosen answer of {@link fakeEngine}. */
export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/**
 * A small well-behaved Docker engine: `/_ping` says API 1.41, every other
 * request goes to `answer` (path without the `/v1.41` prefix).
 */
export async function fakeEngine(answer: (method: string, path: string) => FakeAnswer): Promise<FakePeer> {
  let connections = 0;
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").replace(/^\/v\d+\.\d+/, "");
    req.resume();
    if (path === "/_ping") {
      res.writeHead(200, { "Api-Version": "1.41", "Content-Type": "text/plain" }).end("OK");
      return;
    }
    const a = answer(req.method ?? "GET", path);
    res.writeHead(a.status, a.headers ?? {}).end(a.body ?? "");
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `tcp://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    misbehaved: 0,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function listen(
  onSocket: (socket: Socket, timers: Set<ReturnType<typeof setInterval>>, landed: () => void) => void,
): Promise<FakePeer> {
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  let connections = 0;
  let misbehaved = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket, timers, () => misbehaved++);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `tcp://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get misbehaved() {
      return misbehaved;
    },
    close: () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

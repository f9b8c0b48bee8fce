import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { BerthError } from "../../core/errors.ts";
import { compareApiVersions, engineClient } from "../../runtimes/docker/engine-client.ts";
import { type HttpClient, httpClient } from "../../transports/http/http-client.ts";
import { afterAll, beforeAll, describe, expect, test } from "../support/harness.ts";

/** A raw HTTP/1.1 server: `respond` gets each request head (and body) and writes raw bytes back. */
function rawServer(
  respond: (socket: Socket, head: string, body: Buffer) => void,
): { server: Server; connections: () => number } {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    let buffered = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString("latin1");
        let rest = buffered.subarray(end + 4);
        let body = Buffer.alloc(0);
        const length = /content-length: (\d+)/i.exec(head);
        if (length !== null) {
          if (rest.length < Number(length[1])) return;
          body = rest.subarray(0, Number(length[1]));
          rest = rest.subarray(Number(length[1]));
        } else if (/transfer-encoding: chunked/i.test(head)) {
          const terminator = rest.indexOf("0\r\n\r\n");
          if (terminator < 0) return;
          const parts: Buffer[] = [];
          let at = 0;
          for (;;) {
            const lineEnd = rest.indexOf("\r\n", at);
            const size = Number.parseInt(rest.subarray(at, lineEnd).toString(), 16);
            if (size === 0) {
              at = lineEnd + 4;
              break;
            }
            parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
            at = lineEnd + 2 + size + 2;
          }
          body = Buffer.concat(parts);
          rest = rest.subarray(at);
        }
        buffered = rest;
        respond(socket, head, body);
      }
    });
  });
  return { server, connections: () => connections };
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

function clientFor(port: number, extra: { connectTimeoutMs?: number; keepAliveTimeoutMs?: number } = {}): HttpClient {
  return httpClient({
    hostHeader: "test",
    description: "the test server",
    ...extra,
    connect: async () => {
      const socket = connect({ host: "127.0.0.1", port });
      await once(socket, "connect");
      return socket;
    },
  });
}

async function failure(promise: Promise<unknown>): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("httpClient()", () => {
  const { server, connections } = rawServer((socket, head, body) => {
    const path = head.split(" ")[1] ?? "";
    if (path === "/chunked") {
      socket.write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
      );
    } else if (path === "/bad-chunk") {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1g\r\nhello\r\n0\r\n\r\n");
    } else if (path === "/interim") {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
      socket.write("HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nfinal");
    } else if (path === "/close") {
      socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close");
    } else if (path === "/echo") {
      socket.write(`HTTP/1.1 201 Created\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    } else if (path === "/silent") {
      // never answers
    } else if (path === "/stall") {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    } else {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${path.length}\r\nApi-Version: 1.39\r\n\r\n${path}`);
    }
  });
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => {
    server.close();
  });

  test("`httpClient()` keeps one connection alive across sequential requests", async () => {
    const client = clientFor(port);
    const before = connections();
    for (let i = 0; i < 20; i++) {
      expect(await (await client.request({ method: "GET", path: `/n${i}` })).text()).toBe(`/n${i}`);
    }
    expect(connections() - before).toBe(1);
    await client.close();
  });

  test("`httpClient()` reads chunked bodies with extensions and trailers, then reuses the connection", async () => {
    const client = clientFor(port);
    const before = connections();
    expect(await (await client.request({ method: "GET", path: "/chunked" })).text()).toBe("hello world");
    expect(await (await client.request({ method: "GET", path: "/after" })).text()).toBe("/after");
    expect(connections() - before).toBe(1);
    await client.close();
  });

  test('`httpClient()` refuses a chunk size that is not strictly hex ("1g")', async () => {
    const client = clientFor(port);
    const response = await client.request({ method: "GET", path: "/bad-chunk" });
    const err = await failure(response.text());
    expect(err.code).toBe("ENGINE");
    expect(err.message).toContain('bad chunk size "1g"');
    await client.close();
  });

  test("`httpClient()` skips 1xx interim responses and returns the final one", async () => {
    const client = clientFor(port);
    const response = await client.request({ method: "POST", path: "/interim", body: "x" });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("final");
    expect(await (await client.request({ method: "GET", path: "/after" })).text()).toBe("/after");
    await client.close();
  });

  test("`httpClient()` closes a connection left idle past keepAliveTimeoutMs and opens a new one", async () => {
    const client = clientFor(port, { keepAliveTimeoutMs: 100 });
    const before = connections();
    const closedByClient = new Promise<void>((resolve) =>
      server.once("connection", (s: Socket) => s.once("end", resolve))
    );
    expect(await (await client.request({ method: "GET", path: "/first" })).text()).toBe("/first");
    // The server sees the client end the idle connection, without any new request.
    await closedByClient;
    expect(await (await client.request({ method: "GET", path: "/second" })).text()).toBe("/second");
    expect(connections() - before).toBe(2);
    await client.close();
  });

  test("`httpClient()` reads a body until close and opens a new connection afterwards", async () => {
    const client = clientFor(port);
    const before = connections();
    expect(await (await client.request({ method: "GET", path: "/close" })).text()).toBe("until close");
    expect(await (await client.request({ method: "GET", path: "/x" })).text()).toBe("/x");
    expect(connections() - before).toBe(2);
    await client.close();
  });

  test("`httpClient()` streams a request body with chunked encoding", async () => {
    const client = clientFor(port);
    async function* parts() {
      for (let i = 0; i < 100; i++) yield new Uint8Array(1000).fill(i);
    }
    const echoed = await (await client.request({ method: "PUT", path: "/echo", body: parts() })).bytes();
    expect(echoed.length).toBe(100_000);
    expect(echoed[99_999]).toBe(99);
    expect(await (await client.request({ method: "POST", path: "/echo", body: "fixed" })).text()).toBe("fixed");
    await client.close();
  });

  test("`httpClient()` times out waiting for headers and while a body stalls", async () => {
    const client = clientFor(port);
    expect((await failure(client.request({ method: "GET", path: "/silent", headersTimeoutMs: 200 }))).code).toBe(
      "TIMEOUT",
    );
    const stalled = await client.request({ method: "GET", path: "/stall", idleTimeoutMs: 200 });
    expect((await failure(stalled.text())).code).toBe("TIMEOUT");
    await client.close();
  });

  test("`httpClient()` aborts a pending request through its signal", async () => {
    const client = clientFor(port);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect((await failure(client.request({ method: "GET", path: "/silent", signal: controller.signal }))).code).toBe(
      "ABORTED",
    );
    expect((await failure(client.request({ method: "GET", path: "/x", signal: AbortSignal.abort() }))).code).toBe(
      "ABORTED",
    );
    await client.close();
  });

  test("`httpClient()` retries a GET on a new connection when the server closed a kept-alive one, not when the way to it went", async () => {
    for (const lost of [new Error("socket hang up"), new BerthError("CONNECT", "SSH connection to root@h1:22 lost")]) {
      const sockets: Socket[] = [];
      const client = httpClient({
        hostHeader: "test",
        description: "the test server",
        connect: async () => {
          const socket = connect({ host: "127.0.0.1", port });
          await once(socket, "connect");
          sockets.push(socket);
          return socket;
        },
      });
      expect(await (await client.request({ method: "GET", path: "/first" })).text()).toBe("/first");
      // The kept-alive connection is reused for a request the server does not answer, then goes.
      const pending = client.request({ method: "GET", path: "/silent", headersTimeoutMs: 1000 });
      setTimeout(() => sockets[0]?.destroy(lost), 50);
      const err = await failure(pending);
      const connectedAgain = sockets.length === 2;
      expect({ connectedAgain, code: err.code }).toEqual(
        lost instanceof BerthError
          ? { connectedAgain: false, code: "ENGINE" } // "no response", its cause the lost connection
          : { connectedAgain: true, code: "TIMEOUT" }, // the retry met the same silence
      );
      await client.close();
    }
  });

  test("`httpClient()` reports a refused connection as CONNECT", async () => {
    const client = httpClient({
      hostHeader: "test",
      description: "nothing",
      connect: async () => {
        const socket = connect({ host: "127.0.0.1", port: 1 });
        await once(socket, "connect");
        return socket;
      },
    });
    expect((await failure(client.request({ method: "GET", path: "/" }))).code).toBe("CONNECT");
  });

  test("`engineClient()` refuses an engine older than API 1.40 with ENGINE_TOO_OLD", async () => {
    const client = clientFor(port);
    const err = await failure(engineClient(client, "old-host").apiVersion());
    expect(err.code).toBe("ENGINE_TOO_OLD");
    expect(err.message).toContain("1.39");
    await client.close();
  });

  test("`compareApiVersions()` compares minor versions numerically", () => {
    expect(compareApiVersions("1.9", "1.41")).toBeLessThan(0);
    expect(compareApiVersions("1.45", "1.45")).toBe(0);
    expect(compareApiVersions("2.0", "1.45")).toBeGreaterThan(0);
  });
});

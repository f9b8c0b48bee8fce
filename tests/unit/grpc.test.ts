import { once } from "node:events";
import { createServer, type Http2Server, type ServerHttp2Stream } from "node:http2";
import { connect } from "node:net";
import { BerthError } from "../../core/errors.ts";
import { type GrpcClient, grpcClient, type MethodCodec } from "../../runtimes/kubelet/grpc.ts";
import { afterAll, beforeAll, describe, expect, test } from "../support/harness.ts";

const method = (path: string): MethodCodec => ({
  path,
  serialize: () => new Uint8Array(0),
  deserialize: (bytes) => bytes,
});

/** An h2c server answering each path with the bytes a broken or hostile gRPC server would send. */
function badServer(): Http2Server {
  const server = createServer();
  server.on("stream", (stream: ServerHttp2Stream, headers) => {
    stream.on("error", () => {});
    const path = headers[":path"];
    if (path === "/bad/Message") {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on(
        "wantTrailers",
        () => stream.sendTrailers({ "grpc-status": "2", "grpc-message": "broken %E0%A4%A here" }),
      );
      stream.end();
    } else if (path === "/bad/Huge") {
      // Announces a 4 GiB message, sends a little of it and never ends the stream.
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(0xffffffff, 1);
      stream.write(Buffer.concat([prefix, Buffer.alloc(1024)]));
    }
  });
  return server;
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

describe("grpcClient()", () => {
  const server = badServer();
  let client: GrpcClient;
  beforeAll(async () => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    client = grpcClient({
      description: "the test server",
      open: async () => {
        const socket = connect({ host: "127.0.0.1", port });
        await once(socket, "connect");
        return socket;
      },
    });
  });
  afterAll(async () => {
    await client.close();
    server.close();
  });

  test("`grpcClient()` keeps a malformed percent-encoded grpc-message as sent, without throwing", async () => {
    const err = await failure(client.unary(method("/bad/Message"), {}));
    expect(err.code).toBe("ENGINE");
    expect(err.message).toContain("broken %E0%A4%A here");
    expect(err.message).toContain("gRPC UNKNOWN");
  });

  test("`grpcClient()` refuses an answer announced larger than the limit while it still streams", async () => {
    const started = performance.now();
    const err = await failure(client.unary(method("/bad/Huge"), {}, { timeoutMs: 20_000 }));
    expect(err.code).toBe("ENGINE");
    expect(err.message).toContain("the answer is larger than");
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

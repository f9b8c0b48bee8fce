/**
 * Misbehaving peers: an engine speaking bad HTTP and an SSH server sending
 * garbage or nothing. Each must end in a clear BerthError within a bounded
 * time: no hang, no crash, no raw exception.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { httpClient } from "../../transports/http/http-client.ts";
import { endpointConnect, resolveEndpoint } from "../../runtimes/docker/endpoint.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { sshTransport } from "../../transports/ssh/mod.ts";
import { runCli } from "../support/cli.ts";
import { loadTestEnv } from "../support/env.ts";
import { type BadHttp, badHttpPeer, type BadSsh, badSshPeer, type FakePeer } from "../support/fake-peers.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { endWithCensus } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-peers-"));
const peers: FakePeer[] = [];

afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
  saveTally(import.meta.url);
});

async function peer<T extends FakePeer>(p: Promise<T>): Promise<T> {
  const started = await p;
  peers.push(started);
  return started;
}

/** Counts the peer's fault when it reached berth (it misbehaved at least once); fails the test otherwise. */
function landed(fake: FakePeer): void {
  expect({ misbehaved: fake.misbehaved > 0 }).toEqual({ misbehaved: true });
  tally("faults");
}

/** The error a call ends with, and how long it took. */
async function failure(call: () => Promise<unknown>): Promise<{ error: BerthError; ms: number }> {
  const started = Date.now();
  try {
    await call();
  } catch (err) {
    if (!(err instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(err)}`, { cause: err });
    return { error: err, ms: Date.now() - started };
  }
  throw new Error("expected the call to fail");
}

const HTTP: BadHttp[] = ["truncated", "slow-headers", "garbage", "close-mid-body", "silent", "reset"];
const SSH: BadSsh[] = ["banner-then-garbage", "banner-then-nothing", "silent"];

describe("misbehaving peers", () => {
  for (const behaviour of HTTP) {
    for (const healthyPing of [false, true]) {
      test(
        `\`dockerRuntime().inspect()\` against an engine that answers "${behaviour}"${
          healthyPing ? " after a good ping" : ""
        } fails clearly within its deadline`,
        async () => {
          const fake = await peer(badHttpPeer(behaviour, { healthyPing }));
          const runtime = dockerRuntime({ host: fake.url }, { transport: directTransport(), hostLabel: "fake" });
          try {
            const { error, ms } = await failure(() => runtime.inspect("web", { signal: AbortSignal.timeout(1500) }));
            landed(fake);
            expect(["ENGINE", "CONNECT", "TIMEOUT", "ABORTED"]).toContain(error.code);
            expect(error.message).toContain("fake");
            expect(ms).toBeLessThan(5_000);
          } finally {
            await runtime.close();
          }
        },
        15_000,
      );
    }
  }

  for (const behaviour of ["slow-headers", "silent"] as const) {
    test(
      `\`httpClient().request()\` against a peer that is "${behaviour}" fails with TIMEOUT after its headers timeout`,
      async () => {
        const fake = await peer(badHttpPeer(behaviour));
        const endpoint = resolveEndpoint({ host: fake.url }, {});
        const client = httpClient({
          connect: endpointConnect(endpoint, directTransport()),
          hostHeader: "docker",
          description: "the fake engine",
        });
        try {
          const { error, ms } = await failure(() =>
            client.request({ method: "GET", path: "/_ping", headersTimeoutMs: 500 })
          );
          landed(fake);
          expect(error.code).toBe("TIMEOUT");
          expect(error.message).toContain("500 ms");
          expect(ms).toBeLessThan(3_000);
        } finally {
          await client.close();
        }
      },
      15_000,
    );
  }

  for (const behaviour of ["truncated", "garbage", "reset"] as const) {
    test(
      `\`berth plan\` blocks a container whose engine answers "${behaviour}" with the reason (apply exits 1), no stack trace`,
      async () => {
        const fake = await peer(badHttpPeer(behaviour));
        writeFileSync(
          join(dir, "config.yaml"),
          `hosts: { local: { direct: {} } }\ncontainers:\n  a: { host: local, image: ${env.image}, runtime: { docker: { host: "${fake.url}" } } }\n`,
        );
        const started = Date.now();
        const run = await runCli(["plan"], dir);
        landed(fake);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(run.stdout).toContain("a blocked on local");
        expect(run.stdout).toContain(`127.0.0.1:${fake.port}`);
        expect(run.stderr).not.toContain("    at ");
        expect(run.code).toBe(1); // blocked: an error for scripts, not drift
        const apply = await runCli(["apply", "--yes"], dir);
        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain("blocked");
      },
      30_000,
    );
  }

  for (const behaviour of SSH) {
    test(
      `\`sshTransport().connect()\` to a server that is "${behaviour}" fails clearly within its timeouts`,
      async () => {
        const fake = await peer(badSshPeer(behaviour));
        const ssh = sshTransport(
          {
            address: "127.0.0.1",
            port: fake.port,
            privateKeyPath: env.ssh.privateKeyPath,
            knownHostsFile: env.ssh.knownHostsFile,
            connectionTimeout: "1s",
            retryTimeout: "1s",
            retryInterval: "200ms",
          },
          { env: {}, log: () => {} },
        );
        try {
          const { error, ms } = await failure(() => ssh.connect());
          landed(fake);
          expect(["TIMEOUT", "CONNECT", "ENGINE", "HOST_KEY"]).toContain(error.code);
          expect(error.message).toContain(`127.0.0.1`);
          expect(ms).toBeLessThan(8_000);
        } finally {
          await ssh.close();
        }
      },
      20_000,
    );
  }
});

// The peers are fakes: no real engine holds anything of berth's.
endWithCensus(env, () => ({}));

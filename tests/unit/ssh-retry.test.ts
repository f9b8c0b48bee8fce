import { BerthError } from "../../core/errors.ts";
import { describe, expect, test } from "../support/harness.ts";
import { retryConnect } from "../../transports/ssh/retry.ts";
import { SilentHostError } from "../../transports/ssh/hop.ts";

const refused = () => new BerthError("CONNECT", "root@h:22: connect ECONNREFUSED");

describe("retryConnect()", () => {
  test("retryConnect() retries CONNECT errors until an attempt succeeds", async () => {
    let calls = 0;
    const result = await retryConnect(
      "root@h:22",
      () => ++calls < 3 ? Promise.reject(refused()) : Promise.resolve("up"),
      { timeoutMs: 1000, intervalMs: 10 },
    );
    expect([result, calls]).toEqual(["up", 3]);
  });
  test("retryConnect() gives up after timeoutMs with CONNECT naming the target and last cause", async () => {
    let calls = 0;
    const started = Date.now();
    const error = await retryConnect("root@h:22", () => {
      calls++;
      return Promise.reject(refused());
    }, { timeoutMs: 200, intervalMs: 50 }).catch((err: unknown) => err);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe("CONNECT");
    expect((error as BerthError).message).toMatch(
      new RegExp(
        `^Cannot connect to root@h:22 \\(${calls} attempts in \\d+\\.\\ds\\): root@h:22: connect ECONNREFUSED$`,
      ),
    );
    expect(calls).toBeGreaterThanOrEqual(2);
    // It stops only once another interval would pass timeoutMs; the upper bound only catches a hang
    // (how close it comes to 200 ms depends on the machine's load, not on the code).
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(10_000);
  });
  test("retryConnect() fails at once on AUTH and HOST_KEY errors", async () => {
    for (const code of ["AUTH", "HOST_KEY"] as const) {
      let calls = 0;
      await expect(retryConnect("root@h:22", () => {
        calls++;
        return Promise.reject(new BerthError(code, "no"));
      }, { timeoutMs: 1000, intervalMs: 10 })).rejects.toThrow("no");
      expect(calls).toBe(1);
    }
  });
  test("retryConnect() stops waiting when the signal aborts", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(
      retryConnect("root@h:22", () => Promise.reject(refused()), {
        timeoutMs: 5000,
        intervalMs: 1000,
        signal: controller.signal,
      }),
    ).rejects.toThrow(
      "connecting to root@h:22: aborted",
    );
  });
  test("retryConnect() does not repeat an attempt the host never answered", async () => {
    let calls = 0;
    const silent = new BerthError("CONNECT", "root@h:22: no SSH handshake within 50ms", {
      cause: new SilentHostError("Timed out while waiting for handshake"),
    });
    await expect(retryConnect("root@h:22", () => {
      calls++;
      return Promise.reject(silent);
    }, { timeoutMs: 5000, intervalMs: 10 })).rejects.toThrow(/1 attempt in/);
    expect(calls).toBe(1);
  });
});

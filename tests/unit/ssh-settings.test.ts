import { homedir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { describe, expect, test } from "../support/harness.ts";
import { describeHop, resolveSettings } from "../../transports/ssh/settings.ts";

describe("resolveSettings()", () => {
  test("resolveSettings() applies the defaults: root, port 22, strict ~/.ssh/known_hosts, 30s/60s/1s", () => {
    const { hops, retryTimeoutMs, retryIntervalMs } = resolveSettings({ address: "10.0.0.2" }, {});
    expect(hops).toHaveLength(1);
    expect(hops[0]).toMatchObject({
      address: "10.0.0.2",
      port: 22,
      user: "root",
      agentSocket: undefined,
      knownHostsFile: join(homedir(), ".ssh", "known_hosts"),
      hostKeyPolicy: "strict",
      connectionTimeoutMs: 30_000,
    });
    expect([retryTimeoutMs, retryIntervalMs]).toEqual([60_000, 1_000]);
  });
  test("resolveSettings() uses SSH_AUTH_SOCK unless agent is false", () => {
    expect(resolveSettings({ address: "h" }, { SSH_AUTH_SOCK: "/tmp/agent.sock" }).hops[0]?.agentSocket).toBe(
      "/tmp/agent.sock",
    );
    expect(resolveSettings({ address: "h", agent: false }, { SSH_AUTH_SOCK: "/tmp/agent.sock" }).hops[0]?.agentSocket)
      .toBeUndefined();
  });
  test("resolveSettings() expands ~ in key and known_hosts paths", () => {
    const [hop] = resolveSettings({ address: "h", privateKeyPath: "~/.ssh/id", knownHostsFile: "~/kh" }, {}).hops;
    expect(hop?.privateKeyPath).toBe(join(homedir(), ".ssh", "id"));
    expect(hop?.knownHostsFile).toBe(join(homedir(), "kh"));
  });
  test("resolveSettings() puts jump hosts first and lets them inherit from the target", () => {
    const { hops } = resolveSettings(
      {
        address: "target",
        user: "deploy",
        privateKeyPath: "/keys/id",
        passphrase: "pp",
        password: "target-only",
        knownHostsFile: "/kh",
        hostKeyPolicy: "accept-new",
        connectionTimeout: "5s",
        jump: [{ address: "outer", port: 2200 }, { address: "inner", user: "jumper", privateKey: "INLINE" }],
      },
      {},
    );
    expect(hops.map(describeHop)).toEqual(["deploy@outer:2200", "jumper@inner:22", "deploy@target:22"]);
    expect(hops[0]).toMatchObject({
      privateKeyPath: "/keys/id",
      passphrase: "pp",
      password: undefined,
      knownHostsFile: "/kh",
      hostKeyPolicy: "accept-new",
      connectionTimeoutMs: 5000,
    });
    // A hop with its own key does not mix in the target's key settings.
    expect(hops[1]).toMatchObject({ privateKey: "INLINE", privateKeyPath: undefined, passphrase: undefined });
  });
  test("resolveSettings() rejects a bad duration with VALIDATION naming the field", () => {
    let error: unknown;
    try {
      resolveSettings({ address: "h", retryInterval: "soon" }, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe("VALIDATION");
    expect((error as BerthError).message).toContain('ssh host "h": retryInterval: Cannot parse duration "soon"');
  });
  test("resolveSettings() rejects a port outside 1-65535", () => {
    expect(() => resolveSettings({ address: "h", port: 70000 }, {})).toThrow("port 70000 is not a TCP port");
  });
});

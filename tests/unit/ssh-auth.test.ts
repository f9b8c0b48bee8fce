import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { authHandler, authMethods, type LabelledMethod } from "../../transports/ssh/auth.ts";
import { resolveSettings } from "../../transports/ssh/settings.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-ssh-auth-"));
// Keys as users have them, made by OpenSSH (ssh2's own generator makes an unparseable ed25519 key about once in 200).
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "right-phrase", "-a", "4", "-f", join(dir, "id_pass")]);
const plain = { private: readFileSync(join(dir, "id"), "utf8") };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hop = (config: Parameters<typeof resolveSettings>[0], env: Record<string, string> = {}) =>
  resolveSettings(config, env).hops[0]!;

async function authError(config: Parameters<typeof resolveSettings>[0]): Promise<BerthError> {
  try {
    await authMethods(hop(config));
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    return err as BerthError;
  }
  throw new Error("expected authMethods() to fail");
}

describe("authMethods()", () => {
  test("authMethods() orders agent, key, password like OpenSSH and labels them without secrets", async () => {
    const methods = await authMethods(
      hop({ address: "h", privateKeyPath: join(dir, "id"), password: "hunter2" }, { SSH_AUTH_SOCK: "/tmp/agent" }),
    );
    expect(methods.map((m) => m.label)).toEqual(["agent", `publickey "${join(dir, "id")}"`, "password"]);
    expect(methods.map((m) => m.method.type)).toEqual(["agent", "publickey", "password"]);
    expect(JSON.stringify(methods.map((m) => m.label))).not.toContain("hunter2");
  });
  test("authMethods() decrypts a key with its passphrase", async () => {
    const methods = await authMethods(
      hop({ address: "h", privateKeyPath: join(dir, "id_pass"), passphrase: "right-phrase" }),
    );
    expect(methods.map((m) => m.method.type)).toEqual(["publickey"]);
  });
  test("authMethods() takes an inline key", async () => {
    const methods = await authMethods(hop({ address: "h", privateKey: plain.private }));
    expect(methods.map((m) => m.label)).toEqual(["publickey (inline key)"]);
  });
  test("authMethods() names the key file when the passphrase is wrong, never the passphrase", async () => {
    const err = await authError({ address: "h", privateKeyPath: join(dir, "id_pass"), passphrase: "wrong-phrase" });
    expect(err.code).toBe("AUTH");
    expect(err.message).toBe(`Cannot use private key "${join(dir, "id_pass")}" for root@h:22: wrong passphrase`);
  });
  test("authMethods() says an encrypted key needs a passphrase", async () => {
    expect((await authError({ address: "h", privateKeyPath: join(dir, "id_pass") })).message).toContain(
      "the key is encrypted; set passphrase",
    );
  });
  test("authMethods() names a key file that cannot be read", async () => {
    const err = await authError({ address: "h", privateKeyPath: join(dir, "missing") });
    expect(err.message).toContain(`Cannot read private key "${join(dir, "missing")}" for root@h:22: ENOENT`);
  });
  test("authMethods() refuses a public key given as private key", async () => {
    expect((await authError({ address: "h", privateKeyPath: join(dir, "id.pub") })).message).toContain(
      "it is a public key, not a private key",
    );
  });
  test("authMethods() fails with AUTH when nothing is configured", async () => {
    const err = await authError({ address: "h", user: "u" });
    expect(err.message).toContain("No way to authenticate as u@h:22");
  });
});

describe("authHandler()", () => {
  test("authHandler() tries each method once, skips those the server refuses, then gives up", () => {
    const methods: LabelledMethod[] = [
      { label: "agent", method: { type: "agent", username: "u", agent: "/tmp/agent" } },
      { label: "password", method: { type: "password", username: "u", password: "p" } },
    ];
    const tried: string[] = [];
    const handler = authHandler(methods, tried);
    const picks: unknown[] = [];
    const next = (pick: unknown) => picks.push(pick);
    handler(null as never, false, next);
    handler(["password"], false, next);
    handler(["publickey"], false, next);
    expect(picks).toEqual([methods[0]?.method, methods[1]?.method, false]);
    expect(tried).toEqual(["agent", "password"]);
  });
});

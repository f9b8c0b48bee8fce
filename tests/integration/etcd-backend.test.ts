/**
 * The etcd state backend against a real etcd 3.4 (tests/env/etcd.sh): what
 * it stores is checked by reading etcd's gateway directly, not through
 * berth's client.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { gunzipSync } from "node:zlib";
import type { EtcdBackendConfig } from "../../core/backend-config.ts";
import type { ContainersState } from "../../core/model.ts";
import { stateToYaml } from "../../core/serialize.ts";
import { EtcdBackend, MAX_VALUE_BYTES } from "../../store/etcd-backend.ts";
import { etcdDeletePrefix, etcdGet, loadEtcdEnv } from "../support/etcd-env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";

const env = loadEtcdEnv();
const endpoint = env.single.endpoints[0] as string;
const prefix = `/berth-test/backend-${process.pid}/`;
const config = (extra: Partial<EtcdBackendConfig> = {}): EtcdBackendConfig => ({
  endpoints: env.single.endpoints,
  prefix,
  ...extra,
});
const backend = (extra: Partial<EtcdBackendConfig> = {}) =>
  new EtcdBackend(config(extra), `etcd://${endpoint}${prefix}`);

function fleet(n: number): ContainersState {
  const state: ContainersState = {};
  for (let i = 0; i < n; i++) {
    state[`c${i}`] = {
      host: { sshConfig: { address: `10.0.${Math.floor(i / 250)}.${i % 250}`, user: "core", port: 22 } },
      container: {
        config: {
          name: `c${i}`,
          image: `registry.example.com/team/app-${i % 17}:v1.${i % 5}`,
          args: ["--listen", `0.0.0.0:${8000 + (i % 100)}`, "--data-dir", `/var/lib/app/${i}`],
          env: { ROLE: i % 2 === 0 ? "primary" : "replica", INDEX: String(i) },
        },
        status: { id: `${i}`.padStart(64, "a"), status: "running" },
      },
    };
  }
  return state;
}

afterAll(async () => {
  await etcdDeletePrefix(endpoint, prefix);
});

describe("etcd state backend (real etcd 3.4)", () => {
  test("an empty prefix reads as a first run; a write is one gzip-compressed key that reads back equal", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const b = backend();
    try {
      expect(await b.read()).toEqual({ state: {}, existed: false, warnings: [], revision: 0 });
      await b.write(fleet(3));
      const stored = await etcdGet(endpoint, `${prefix}state`);
      expect(gunzipSync(stored?.value as Buffer).toString()).toBe(stateToYaml(fleet(3)));
      const again = await backend().read();
      expect(again.state).toEqual(fleet(3));
      expect(again.revision).toBe(stored?.modRevision);
    } finally {
      await b.close();
    }
  });

  test("secrets of the config never reach etcd", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const state = fleet(2);
    const secret = "pw-never-stored-4711";
    (state["c0"] as ContainersState[string]).host = {
      sshConfig: { address: "10.0.0.1", user: "core", password: secret, passphrase: secret },
    };
    const b = backend();
    try {
      await b.read();
      await b.write(state);
      const stored = gunzipSync((await etcdGet(endpoint, `${prefix}state`))?.value as Buffer).toString();
      expect(stored).toContain("10.0.0.1");
      expect(stored).not.toContain(secret);
    } finally {
      await b.close();
    }
  });

  test("1,000 containers: stored compressed far under etcd's request limit, read back identical", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const b = backend();
    try {
      await b.read();
      await b.write(fleet(1000));
      const stored = await etcdGet(endpoint, `${prefix}state`);
      const size = stored?.value.length ?? 0;
      expect(size > 0 && size < MAX_VALUE_BYTES / 4).toBe(true);
      expect(stateToYaml(fleet(1000)).length > 5 * size).toBe(true);
      expect((await backend().read()).state).toEqual(fleet(1000));
    } finally {
      await b.close();
    }
  });

  test("no lost update: of two writers that read the same revision, the second is refused", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const [a, b] = [backend(), backend()];
    try {
      await a.read();
      await b.read();
      await a.write(fleet(2));
      let refused: Error | undefined;
      await b.write(fleet(5)).catch((err: Error) => (refused = err));
      expect(refused?.message).toContain("changed since berth read it");
      expect(gunzipSync((await etcdGet(endpoint, `${prefix}state`))?.value as Buffer).toString()).toBe(
        stateToYaml(fleet(2)),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test(
    "a held lock refuses a second run naming host, pid, command and since; a waiting run gets it once freed",
    async () => {
      await etcdDeletePrefix(endpoint, prefix);
      const [a, b] = [backend(), backend()];
      try {
        const held = await a.lock({ command: "berth apply" });
        let refused: Error | undefined;
        await b.lock({ command: "berth apply" }).catch((err: Error) => (refused = err));
        expect(refused?.message).toContain(`is locked by process ${process.pid} on ${hostname()} (berth apply, since `);
        const lock = await etcdGet(endpoint, `${prefix}lock`);
        expect(lock?.lease).not.toBe("0");
        const started = Date.now();
        setTimeout(() => void held.release(), 1500);
        const second = await b.lock({ command: "berth destroy", waitMs: 10_000 });
        expect(Date.now() - started >= 1400).toBe(true);
        expect(JSON.parse((await etcdGet(endpoint, `${prefix}lock`))?.value.toString() ?? "{}").command).toBe(
          "berth destroy",
        );
        await second.release();
        expect(await etcdGet(endpoint, `${prefix}lock`)).toBe(undefined);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
    30_000,
  );

  test("a wait longer than the lease TTL keeps its own lease alive and gets the lock", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const [a, b] = [backend(), backend({ lockTtlMs: 2000 })];
    try {
      const held = await a.lock({ command: "berth apply" });
      setTimeout(() => void held.release(), 5000);
      const second = await b.lock({ command: "berth apply", waitMs: 20_000 });
      await b.read();
      await b.write(fleet(1));
      await second.release();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);

  test("a lock whose keeper stopped (no release, no renewals) frees itself after the lease TTL", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const a = backend({ lockTtlMs: 2000 });
    await a.lock({ command: "berth apply" });
    await a.close(); // renewals stop, the lease is not revoked: like a killed process
    const started = Date.now();
    const b = backend();
    try {
      const held = await b.lock({ command: "berth apply", waitMs: 15_000 });
      const freedMs = Date.now() - started;
      expect(freedMs < 6000).toBe(true);
      await held.release();
    } finally {
      await b.close();
    }
  }, 30_000);

  test("a run that lost its lock learns it: its next write is refused, the state is untouched", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const a = backend({ lockTtlMs: 2000 });
    const other = backend();
    try {
      const held = await a.lock({ command: "berth apply" });
      await a.read();
      await a.write(fleet(1));
      expect((await other.forceUnlock())?.pid).toBe(process.pid);
      let refused: Error | undefined;
      await a.write(fleet(4)).catch((err: Error) => (refused = err));
      expect(refused?.message).toContain("Lost the lock");
      expect(held.lost.aborted).toBe(true);
      expect((await other.read()).state).toEqual(fleet(1));
      // The keeper also notices by itself once its lease is gone.
      const b = backend({ lockTtlMs: 2000 });
      const held2 = await b.lock({ command: "berth apply" });
      await other.forceUnlock();
      const until = Date.now() + 5000;
      while (!held2.lost.aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(held2.lost.aborted).toBe(true);
      await b.close();
    } finally {
      await Promise.all([a.close(), other.close()]);
    }
  }, 30_000);

  test("members are tried in order: a dead first endpoint is skipped", async () => {
    await etcdDeletePrefix(endpoint, prefix);
    const b = new EtcdBackend({ endpoints: ["127.0.0.1:1", endpoint], prefix }, "test");
    try {
      await b.read();
      await b.write(fleet(2));
      expect((await backend().read()).state).toEqual(fleet(2));
    } finally {
      await b.close();
    }
  });

  test("TLS with a client certificate and user/password auth; a wrong password is refused naming the user, not the password", async () => {
    const password = readFileSync(env.secure.passwordFile, "utf8").trim();
    const secure = { endpoints: env.secure.endpoints, prefix: `${env.secure.prefix}t${process.pid}/` };
    const tls = { ca: env.secure.ca, cert: env.secure.cert, key: env.secure.key };
    const b = new EtcdBackend({ ...secure, ...tls, user: env.secure.user, password }, "secure");
    try {
      const held = await b.lock({ command: "berth apply" });
      await b.read();
      await b.write(fleet(2));
      await held.release();
      expect((await b.read()).state).toEqual(fleet(2));
      await b.forceUnlock();
    } finally {
      await b.close();
    }
    const wrong = new EtcdBackend({ ...secure, ...tls, user: env.secure.user, password: "not-the-password" }, "s");
    let refused: Error | undefined;
    await wrong.read().catch((err: Error) => (refused = err));
    await wrong.close();
    expect(refused?.message).toContain(`as user "${env.secure.user}"`);
    expect(refused?.message).not.toContain("not-the-password");
    // Outside the user's prefix: etcd's own permission check answers.
    const outside = new EtcdBackend(
      { ...secure, prefix: "/elsewhere/", ...tls, user: env.secure.user, password },
      "outside",
    );
    let denied: Error | undefined;
    await outside.read().catch((err: Error) => (denied = err));
    await outside.close();
    expect(denied?.message).toContain("permission denied");
  });
});

/**
 * The SSH transport against the real test fleet (tests/env/up.sh): hosts
 * with their own sshd and dockerd, a bastion, real keys, a password user.
 * The "sshd killed" case runs a private `sshd -d` of its own, so the fleet
 * is never disturbed.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { BerthError } from "../../core/errors.ts";
import type { SSHConfig } from "../../core/model.ts";
import { fingerprint } from "../../transports/ssh/fingerprint.ts";
import { matchesHost, parseKnownHosts } from "../../transports/ssh/known-hosts.ts";
import { type SSHTransport, sshTransport } from "../../transports/ssh/mod.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { loadTestEnv, type TestHost } from "../support/env.ts";

const env = loadTestEnv();
const direct = env.hosts.filter((h) => !h.viaBastion);
const h1 = direct[0] as TestHost;
const h2 = direct[1] as TestHost;
const behindBastion = env.hosts.find((h) => h.viaBastion) as TestHost;
const passwordHost = env.hosts.find((h) => h.name === env.ssh.passwordHost) as TestHost;
const dir = mkdtempSync(join(tmpdir(), "berth-ssh-test-"));
/** Fail fast instead of the production 60 s of retries. */
const QUICK = { connectionTimeout: "2s", retryTimeout: "1s", retryInterval: "200ms" };

const transports: SSHTransport[] = [];
afterAll(async () => {
  await Promise.all(transports.map((t) => t.close()));
  rmSync(dir, { recursive: true, force: true });
});

function config(host: Pick<TestHost, "address" | "port">, extra: Partial<SSHConfig> = {}): SSHConfig {
  return {
    address: host.address,
    port: host.port,
    user: env.ssh.user,
    privateKeyPath: env.ssh.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
    ...QUICK,
    ...extra,
  };
}

function withoutKey({ privateKeyPath: _, ...rest }: SSHConfig): SSHConfig {
  return rest;
}

/** A transport closed after the suite; no agent unless `environment` has one. */
function transport(
  cfg: SSHConfig,
  options: { log?: (m: string) => void; environment?: Record<string, string> } = {},
): SSHTransport {
  const t = sshTransport(cfg, {
    env: options.environment ?? {},
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  transports.push(t);
  return t;
}

/** A real HTTP request over a transport stream (or a local socket path). */
function httpGet(connection: Duplex | string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = typeof connection === "string"
      ? { socketPath: connection }
      : { createConnection: () => connection as never };
    const req = request({ ...target, path, headers: { host: "docker" }, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer to GET ${path}`)));
    req.on("error", reject);
    req.end();
  });
}

async function failure(promise: Promise<unknown>): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    return err;
  }
  throw new Error("expected a BerthError");
}

/** The fingerprint the fleet's known_hosts records for a host. */
function knownFingerprint(host: Pick<TestHost, "address" | "port">): string {
  const entry = parseKnownHosts(readFileSync(env.ssh.knownHostsFile, "utf8")).find((e) =>
    matchesHost(e, host.address, host.port)
  );
  if (entry === undefined) throw new Error(`no known_hosts line for ${host.address}`);
  return fingerprint(entry.key);
}

/** The first bytes a TCP stream sends. */
function firstData(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    stream.once("data", (chunk: Buffer) => resolve(chunk.toString("utf8")));
    stream.once("error", reject);
  });
}

describe("sshTransport() on the test fleet", () => {
  test("`openUnixSocket()` reaches each host's own engine through /var/run/docker.sock", async () => {
    for (const host of direct) {
      const ssh = transport(config(host));
      const ping = await httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/_ping");
      expect(ping).toEqual({ status: 200, body: "OK" });
      const remote = JSON.parse((await httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/info")).body) as {
        ID: string;
      };
      const local = JSON.parse((await httpGet(host.dockerSocket, "/info")).body) as { ID: string };
      expect(remote.ID).toBe(local.ID);
      expect(ssh.description).toBe(`${env.ssh.user}@${host.address}:${host.port}`);
    }
  }, 30_000);

  test("`openUnixSocket()` carries 50 concurrent requests over one SSH connection", async () => {
    const ssh = transport(config(h1));
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/_ping")),
    );
    expect(answers.every((a) => a.status === 200 && a.body === "OK")).toBe(true);
    expect(ssh.handshakes).toBe(1);
  }, 30_000);

  test("`connect()` shares one handshake between concurrent callers and is idempotent", async () => {
    const ssh = transport(config(h2));
    await Promise.all([ssh.connect(), ssh.connect(), ssh.connect()]);
    await ssh.connect();
    expect(ssh.handshakes).toBe(1);
  });

  test("`openTcp()` opens a TCP connection as seen from the host", async () => {
    const ssh = transport(config(h1));
    const stream = await ssh.openTcp("127.0.0.1", h1.port);
    expect(await firstData(stream)).toMatch(/^SSH-2\.0-OpenSSH/);
    stream.destroy();
  });

  test("`connect()` jumps through the bastion to a host reachable only from there", async () => {
    const jump = { address: env.bastion.address, port: env.bastion.port };
    const ssh = transport(config(behindBastion, { jump: [jump] }));
    const answers = await Promise.all(
      [1, 2, 3].map(async () => httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/_ping")),
    );
    expect(answers.map((a) => a.body)).toEqual(["OK", "OK", "OK"]);
    const local = JSON.parse((await httpGet(behindBastion.dockerSocket, "/info")).body) as { ID: string };
    const remote = JSON.parse((await httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/info")).body) as {
      ID: string;
    };
    expect(remote.ID).toBe(local.ID);
    expect(ssh.handshakes).toBe(1);
  }, 30_000);

  test("`connect()` names the jump host whose authentication failed", async () => {
    const jump = { address: env.bastion.address, port: env.bastion.port, privateKeyPath: env.ssh.wrongKeyPath };
    const err = await failure(transport(config(behindBastion, { jump: [jump] })).connect());
    expect(err.code).toBe("AUTH");
    expect(err.message).toContain(`via ${env.ssh.user}@${env.bastion.address}:${env.bastion.port}`);
    expect(err.message).toContain(
      `Authentication as ${env.ssh.user}@${env.bastion.address}:${env.bastion.port} failed`,
    );
  });

  test("`connect()` authenticates with a password", async () => {
    const ssh = transport(withoutKey(config(passwordHost, { user: env.ssh.passwordUser, password: env.ssh.password })));
    expect((await httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/_ping")).body).toBe("OK");
  });

  test("`connect()` authenticates with a passphrase-protected key", async () => {
    const ssh = transport(config(h1, { privateKeyPath: env.ssh.passphraseKeyPath, passphrase: env.ssh.passphrase }));
    await ssh.connect();
    expect(ssh.handshakes).toBe(1);
  });

  test("`connect()` fails with AUTH naming user@host:port and the methods tried for a wrong key, without retrying", async () => {
    const started = Date.now();
    const err = await failure(
      transport(config(h1, { privateKeyPath: env.ssh.wrongKeyPath, retryTimeout: "20s" })).connect(),
    );
    expect(err.code).toBe("AUTH");
    expect(err.message).toBe(
      `Authentication as ${env.ssh.user}@${h1.address}:${h1.port} failed (tried: publickey "${env.ssh.wrongKeyPath}")`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("`connect()` fails with AUTH for a wrong password and never shows it", async () => {
    const wrong = `not-${env.ssh.password}`;
    const cfg = withoutKey(config(passwordHost, { user: env.ssh.passwordUser, password: wrong }));
    const err = await failure(transport(cfg).connect());
    expect(err.code).toBe("AUTH");
    expect(err.message).toContain(
      `Authentication as ${env.ssh.passwordUser}@${passwordHost.address}:${passwordHost.port} failed (tried: password)`,
    );
    expect(err.message).not.toContain(wrong);
  }, 15_000);

  test("`connect()` fails with AUTH naming the key file for a wrong passphrase", async () => {
    const err = await failure(
      transport(config(h1, { privateKeyPath: env.ssh.passphraseKeyPath, passphrase: "wrong" })).connect(),
    );
    expect(err.code).toBe("AUTH");
    expect(err.message).toBe(
      `Cannot use private key "${env.ssh.passphraseKeyPath}" for ${env.ssh.user}@${h1.address}:${h1.port}: wrong passphrase`,
    );
  });

  test("`connect()` refuses an unknown host key under strict, with its fingerprint and how to accept it", async () => {
    const empty = join(dir, "empty_known_hosts");
    writeFileSync(empty, "");
    const err = await failure(transport(config(h1, { knownHostsFile: empty })).connect());
    expect(err.code).toBe("HOST_KEY");
    expect(err.message).toContain(
      `Host key of ${env.ssh.user}@${h1.address}:${h1.port} is not known (ssh-ed25519 ${knownFingerprint(h1)}`,
    );
    expect(err.message).toContain(`ssh-keyscan -p ${h1.port} ${h1.address} >> ${empty}`);
    expect(err.message).toContain("hostKeyPolicy: accept-new");
  });

  test("`connect()` refuses a changed host key with both fingerprints, also under accept-new", async () => {
    // A known_hosts file that records h2's key for h1's address.
    const h2Line = readFileSync(env.ssh.knownHostsFile, "utf8").split("\n").find((l) =>
      l.startsWith(`${h2.address} `)
    ) as string;
    const forged = join(dir, "forged_known_hosts");
    writeFileSync(forged, `${h2Line.replace(h2.address, h1.address)}\n`);
    for (const hostKeyPolicy of ["strict", "accept-new"] as const) {
      const err = await failure(transport(config(h1, { knownHostsFile: forged, hostKeyPolicy })).connect());
      expect(err.code).toBe("HOST_KEY");
      expect(err.message).toContain("has CHANGED");
      expect(err.message).toContain(`expected ssh-ed25519 ${knownFingerprint(h2)}`);
      expect(err.message).toContain(`offered ssh-ed25519 ${knownFingerprint(h1)}`);
    }
  });

  test("`connect()` under accept-new records an unknown key in a new 0600 file, then knows it", async () => {
    const file = join(dir, "new", "known_hosts");
    const messages: string[] = [];
    await transport(config(h1, { knownHostsFile: file, hostKeyPolicy: "accept-new" }), { log: (m) => messages.push(m) })
      .connect();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const entries = parseKnownHosts(readFileSync(file, "utf8"));
    expect(entries.map((e) => fingerprint(e.key))).toEqual([knownFingerprint(h1)]);
    expect(messages.join("\n")).toContain(`Recorded the new host key of ${env.ssh.user}@${h1.address}:${h1.port}`);
    await transport(config(h1, { knownHostsFile: file })).connect();
  });

  test("`connect()` under insecure accepts any key and warns with its fingerprint", async () => {
    const messages: string[] = [];
    const ssh = transport(config(h1, { knownHostsFile: join(dir, "none"), hostKeyPolicy: "insecure" }), {
      log: (m) => messages.push(m),
    });
    await ssh.connect();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`WARNING: not verifying the host key of ${env.ssh.user}@${h1.address}:${h1.port}`);
    expect(messages[0]).toContain(knownFingerprint(h1));
  });

  test("`connect()` fails with CONNECT after retries when the port refuses connections", async () => {
    const started = Date.now();
    const err = await failure(transport(config({ address: h1.address, port: 1 })).connect());
    expect(err.code).toBe("CONNECT");
    expect(err.message).toMatch(
      new RegExp(`^Cannot connect to root@${h1.address}:1 \\(\\d+ attempts in [\\d.]+s\\): .*ECONNREFUSED`),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  test("`connect()` fails with CONNECT when the host does not answer at all", async () => {
    // A free address on this fleet's bridge (fleets side by side use other subnets): nobody answers ARP.
    const free = h1.address.replace(/\.\d+$/, ".254");
    const err = await failure(
      transport(config({ address: free, port: 22 }, { connectionTimeout: "500ms" })).connect(),
    );
    expect(err.code).toBe("CONNECT");
    const at = `root@${free.replaceAll(".", "\\.")}:22`;
    expect(err.message).toMatch(
      new RegExp(
        `^Cannot connect to ${at} \\(\\d+ attempts? in [\\d.]+s\\): ${at}: (no SSH handshake within 500ms|connect E[A-Z]+)`,
      ),
    );
  }, 15_000);

  test("a host that sent nothing for a whole connection timeout is not waited for again at once", async () => {
    // A TCP peer that accepts and never speaks: the SSH handshake times out, as on a cut link.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const ssh = transport(config({ address: "127.0.0.1", port }, { connectionTimeout: "500ms" }));
      const first = await failure(ssh.connect());
      expect(first.message).toContain("no SSH handshake within 500ms (connectionTimeout)");
      // Within the next connection timeout, the next caller gets that answer at once.
      const started = performance.now();
      const again = await failure(ssh.connect());
      expect({ message: again.message, fast: performance.now() - started < 100 }).toEqual({
        message: first.message,
        fast: true,
      });
      // After it, berth asks the host again: a whole new timeout.
      await new Promise((r) => setTimeout(r, 550));
      const later = performance.now();
      await failure(ssh.connect());
      expect(performance.now() - later).toBeGreaterThanOrEqual(450);
      await ssh.close();
    } finally {
      silent.close();
    }
  }, 15_000);

  test("`connect()` fails with CONNECT when the host is unreachable without its jump host", async () => {
    const err = await failure(transport(config(behindBastion)).connect());
    expect(err.code).toBe("CONNECT");
    expect(err.message).toMatch(
      new RegExp(
        `^Cannot connect to root@${behindBastion.address}:${behindBastion.port} \\(\\d+ attempts in [\\d.]+s\\): .*(connect E[A-Z]+|no SSH handshake)`,
      ),
    ); // Bun reports EHOSTUNREACH as ECONNREFUSED
  }, 15_000);

  test("`connect()` stops with ABORTED when its signal aborts", async () => {
    const ssh = transport(config({ address: "198.18.0.254", port: 22 }, { retryTimeout: "30s" }));
    const started = Date.now();
    const err = await failure(ssh.connect({ signal: AbortSignal.timeout(300) }));
    expect(err.code).toBe("ABORTED");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test("`close()` ends every channel, is idempotent, and later calls fail", async () => {
    const ssh = transport(config(h2));
    const stream = await ssh.openUnixSocket("/var/run/docker.sock");
    const closed = new Promise((resolve) => stream.once("close", resolve));
    await ssh.close();
    await closed;
    await ssh.close();
    const err = await failure(ssh.openUnixSocket("/var/run/docker.sock"));
    expect(err.message).toContain("is closed");
  });
});

describe("sshTransport() with ssh-agent", () => {
  const socket = join(dir, "agent.sock");
  let agent: ChildProcess | undefined;
  afterAll(() => {
    if (agent?.pid !== undefined) process.kill(agent.pid);
  });

  test("`connect()` authenticates with a key held by ssh-agent (SSH_AUTH_SOCK from options.env)", async () => {
    agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    await waitFor(() => statSync(socket, { throwIfNoEntry: false }) !== undefined, 5000, "ssh-agent socket");
    execFileSync("ssh-add", ["-q", env.ssh.privateKeyPath], {
      env: { ...process.env, SSH_AUTH_SOCK: socket },
      stdio: "ignore",
    });
    const ssh = transport(withoutKey(config(h1)), { environment: { SSH_AUTH_SOCK: socket } });
    expect((await httpGet(await ssh.openUnixSocket("/var/run/docker.sock"), "/_ping")).body).toBe("OK");
    // Order as in OpenSSH: the agent first, then the key file.
    const both = await failure(
      transport(config(h1, { privateKeyPath: env.ssh.wrongKeyPath }), {
        environment: { SSH_AUTH_SOCK: join(dir, "no-agent") },
      }).connect(),
    );
    expect(both.message).toContain(`(tried: agent, publickey "${env.ssh.wrongKeyPath}"); agent:`);
  }, 15_000);
});

describe("sshTransport() when sshd dies", () => {
  const own = join(dir, "sshd");
  let sshd: ChildProcess | undefined;
  let server: Server | undefined;
  let port = 0;
  afterAll(async () => {
    killGroup(sshd);
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  });

  /** `sshd -d` serves one connection in its own process group, so killing the group kills the session too. */
  function startSshd(): ChildProcess {
    const child = spawn("/usr/sbin/sshd", ["-d", "-D", "-f", join(own, "sshd_config")], {
      stdio: "ignore",
      detached: true,
    });
    child.unref();
    return child;
  }

  test(
    "`openUnixSocket()` streams fail when the connection dies, and the next call reconnects with retries",
    async () => {
      mkdirSync(own, { recursive: true });
      mkdirSync("/run/sshd", { recursive: true });
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(own, "host_key")]);
      port = await freePort();
      writeFileSync(
        join(own, "sshd_config"),
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${join(own, "host_key")}`,
          `PidFile ${join(own, "sshd.pid")}`,
          `AuthorizedKeysFile ${env.ssh.privateKeyPath}.pub`,
          "StrictModes no",
          "UsePAM no",
          "PermitRootLogin yes",
          "AllowStreamLocalForwarding yes",
        ].join("\n") + "\n",
      );
      const hostKey = readFileSync(join(own, "host_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
      writeFileSync(join(own, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
      // A local unix socket the remote side reaches (all test hosts share this filesystem).
      const socketPath = join(own, "echo.sock");
      server = createServer((c) => c.pipe(c));
      await new Promise<void>((resolve) => server?.listen(socketPath, resolve));

      sshd = startSshd();
      const ssh = transport(
        config({ address: "127.0.0.1", port }, {
          user: "root",
          knownHostsFile: join(own, "known_hosts"),
          retryTimeout: "10s",
        }),
      );
      await ssh.connect(); // sshd needs a moment to listen; the transport's retries cover it
      const stream = await ssh.openUnixSocket(socketPath);
      stream.write("hello");
      expect(await firstData(stream)).toBe("hello");

      const failed = new Promise<Error>((resolve) => stream.once("error", resolve));
      killGroup(sshd);
      const err = await failed;
      expect(err).toBeInstanceOf(BerthError);
      expect(err.message).toBe(`SSH connection to root@127.0.0.1:${port} lost`);

      // Nothing listens now: the next call retries until sshd is back.
      setTimeout(() => (sshd = startSshd()), 1000);
      const again = await ssh.openUnixSocket(socketPath);
      again.write("again");
      expect(await firstData(again)).toBe("again");
      expect(ssh.handshakes).toBe(2);
      await ssh.close();
    },
    30_000,
  );
});

function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

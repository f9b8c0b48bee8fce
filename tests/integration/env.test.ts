/**
 * Proves the real test environment (tests/env/up.sh) is what the other
 * integration tests assume: engines, image, sshds, bastion, registries.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { dockerLocal, hostAction, loadTestEnv, testHost } from "../support/env.ts";

const env = loadTestEnv();
const direct = env.hosts.filter((h) => !h.viaBastion);
const inner = env.hosts.filter((h) => h.viaBastion);
const work = mkdtempSync(join(tmpdir(), "berth-env-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env: { ...process.env, ...extraEnv } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const sshOptions = (key: string) => [
  "-o",
  "BatchMode=yes",
  "-o",
  "IdentitiesOnly=yes",
  "-o",
  `UserKnownHostsFile=${env.ssh.knownHostsFile}`,
  "-o",
  "StrictHostKeyChecking=yes",
  "-o",
  "ConnectTimeout=5",
  "-i",
  key,
];
const viaBastion = () => [
  "-o",
  `ProxyCommand=ssh ${sshOptions(env.ssh.privateKeyPath).join(" ")} -W %h:%p ${env.ssh.user}@${env.bastion.address}`,
];

function ssh(address: string, command: string, options: string[] = sshOptions(env.ssh.privateKeyPath)): Promise<Run> {
  return run("ssh", [...options, `${env.ssh.user}@${address}`, command]);
}

const inode = (path: string) => String(statSync(path).ino);

/** Resolves with the error code of a TCP connect from this (the root) namespace. */
function tcpConnect(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 3000 });
    socket.on("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.on("timeout", () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("test environment", () => {
  test("`loadTestEnv()` lists the hosts, only the last one behind the bastion", () => {
    expect(env.hosts.length).toBeGreaterThanOrEqual(2);
    expect(inner.map((h) => h.name)).toEqual([env.hosts[env.hosts.length - 1]?.name]);
  });

  test("`dockerLocal()` pings the local engine, which has the test image", async () => {
    expect((await dockerLocal("/_ping")).body).toBe("OK");
    expect((await dockerLocal(`/images/${env.image}/json`)).status).toBe(200);
  });

  test("`dockerLocal()` reaches every host's engine through its socket, each with the test image", async () => {
    const ids = new Set<string>();
    for (const host of env.hosts) {
      const info = await dockerLocal("/info", { socket: host.dockerSocket });
      expect(info.status).toBe(200);
      ids.add((info.body as { ID: string }).ID);
      expect((await dockerLocal(`/images/${env.image}/json`, { socket: host.dockerSocket })).status).toBe(200);
    }
    expect(ids.size).toBe(env.hosts.length);
  });

  test("`ssh` with the test key reaches each direct host, whose /var/run/docker.sock is its own engine", async () => {
    for (const host of direct) {
      const result = await ssh(host.address, "stat -L -c %i /var/run/docker.sock");
      expect(result.stderr).toBe("");
      expect(result.stdout.trim()).toBe(inode(host.dockerSocket));
    }
  });

  test(
    "each host has its own view: a file written at the view path through its SSH or its engine is in its view only",
    async () => {
      const others = (
        host: (typeof env.hosts)[number],
      ) => [env.view, ...env.hosts.filter((h) => h !== host).map((h) => h.view)];
      for (const host of env.hosts) {
        const viaSsh = `probe-${process.pid}-${host.name}-ssh`;
        const options = [...sshOptions(env.ssh.privateKeyPath), ...(host.viaBastion ? viaBastion() : [])];
        const written = await ssh(host.address, `echo ${host.name} > ${env.view}/${viaSsh}`, options);
        expect(written.stderr).toBe("");
        // Its engine resolves bind mounts in its own mount namespace.
        const viaEngine = `probe-${process.pid}-${host.name}-engine`;
        const socket = host.dockerSocket;
        const created = await dockerLocal("/containers/create", {
          method: "POST",
          socket,
          body: {
            Image: env.image,
            Cmd: ["sh", "-c", `echo ${host.name} > /view/${viaEngine}`],
            HostConfig: { Binds: [`${env.view}:/view`], NetworkMode: "none" },
          },
        });
        expect(created.status).toBe(201);
        const id = (created.body as { Id: string }).Id;
        expect((await dockerLocal(`/containers/${id}/start`, { method: "POST", socket })).status).toBe(204);
        expect((await dockerLocal(`/containers/${id}/wait`, { method: "POST", socket })).body).toMatchObject({
          StatusCode: 0,
        });
        await dockerLocal(`/containers/${id}?force=1`, { method: "DELETE", socket });
        for (const probe of [viaSsh, viaEngine]) {
          expect(readFileSync(join(host.view, probe), "utf8")).toBe(`${host.name}\n`);
          for (const view of others(host)) expect(() => statSync(join(view, probe))).toThrow(/ENOENT/);
          rmSync(join(host.view, probe));
        }
      }
    },
    60_000,
  );

  test("`ssh` reaches the inner host only through the bastion", async () => {
    for (const host of inner) {
      expect(await tcpConnect(host.address, host.port)).not.toBe("connected");
      const result = await ssh(host.address, "stat -L -c %i /var/run/docker.sock", [
        ...sshOptions(env.ssh.privateKeyPath),
        ...viaBastion(),
      ]);
      expect(result.stdout.trim()).toBe(inode(host.dockerSocket));
    }
  });

  test("`ssh` refuses the wrong key; the passphrase key opens with its passphrase and is authorised", async () => {
    const first = direct[0]!;
    const refused = await ssh(first.address, "true", sshOptions(env.ssh.wrongKeyPath));
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain("Permission denied");
    const pub = await run("ssh-keygen", ["-y", "-P", env.ssh.passphrase, "-f", env.ssh.passphraseKeyPath]);
    expect(pub.code).toBe(0);
    const authorised = readFileSync(join(env.dir, "keys", "authorized_keys"), "utf8");
    expect(authorised).toContain(pub.stdout.trim().split(" ")[1]!);
  });

  test("`ssh` logs the password user in to its host, where it may use the engine socket", async () => {
    const host = testHost(env, env.ssh.passwordHost);
    const askpass = join(work, "askpass.sh");
    writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$BERTH_TEST_PASSWORD"\n');
    chmodSync(askpass, 0o700);
    const result = await run("ssh", [
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      "PreferredAuthentications=password",
      "-o",
      `UserKnownHostsFile=${env.ssh.knownHostsFile}`,
      "-o",
      "StrictHostKeyChecking=yes",
      `${env.ssh.passwordUser}@${host.address}`,
      "test -w /var/run/docker.sock && echo writable",
    ], { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", BERTH_TEST_PASSWORD: env.ssh.password });
    expect(result.stdout.trim()).toBe("writable");
  });

  test("the registries serve their images, the second one only with credentials", async () => {
    const accept = { accept: "application/vnd.docker.distribution.manifest.v2+json" };
    const plain = await fetch(`http://${env.registry.address}/v2/berth/pullme/manifests/latest`, { headers: accept });
    expect(plain.status).toBe(200);
    const url = `http://${env.registry.authAddress}/v2/berth/private/manifests/latest`;
    expect((await fetch(url, { headers: accept })).status).toBe(401);
    const basic = Buffer.from(`${env.registry.username}:${env.registry.password}`).toString("base64");
    expect((await fetch(url, { headers: { ...accept, authorization: `Basic ${basic}` } })).status).toBe(200);
  });

  test("the local engine pulls from both registries, with credentials for the second", async () => {
    const auth = Buffer.from(JSON.stringify({
      username: env.registry.username,
      password: env.registry.password,
      serveraddress: env.registry.authAddress,
    })).toString("base64url");
    for (
      const [image, headers] of [[env.registry.image, {}], [env.registry.authImage, {
        "x-registry-auth": auth,
      }]] as const
    ) {
      const [name, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];
      const pull = await dockerLocal(`/images/create?fromImage=${encodeURIComponent(name)}&tag=${tag}`, {
        method: "POST",
        headers,
      });
      expect(pull.status).toBe(200);
      expect(String(pull.body)).not.toContain("errorDetail");
      expect((await dockerLocal(`/images/${image}/json`)).status).toBe(200);
      expect((await dockerLocal(`/images/${image}`, { method: "DELETE" })).status).toBe(200);
    }
  });

  test("`hostAction()` stops and starts a host's sshd", async () => {
    const host = direct[direct.length - 1]!;
    await hostAction("sshd-stop", host.name);
    try {
      expect(await tcpConnect(host.address, host.port)).toBe("ECONNREFUSED");
    } finally {
      await hostAction("sshd-start", host.name);
    }
    expect((await ssh(host.address, "true")).code).toBe(0);
  });
});

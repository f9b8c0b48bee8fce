/**
 * The CLI over the real SSH fleet: containers spread over three hosts (one
 * reachable only through the bastion), moved, updated, removed; an
 * unreachable host does not stop the others and loses nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, hostAction, hostPath, loadTestEnv, type TestHost } from "../support/env.ts";

const env = loadTestEnv();
const [h1, h2, h3] = env.hosts as [TestHost, TestHost, TestHost];
const dir = mkdtempSync(join(tmpdir(), "berth-fleet-"));
const prefix = `bt-fleet-${process.pid}`;
/** Where the containers' files go on every host; each host's copy is read from its own view. */
const files = `${env.view}/${prefix}`;
const fileOn = (host: TestHost, name: string) => readFileSync(hostPath(env, host, `${files}/${name}`), "utf8");

interface Spec {
  host: TestHost;
  env?: string;
  file?: string;
}

function config(containers: Record<string, Spec>): string {
  const lines = [
    "ssh:",
    `  privateKeyPath: ${env.ssh.privateKeyPath}`,
    `  knownHostsFile: ${env.ssh.knownHostsFile}`,
    "  connectionTimeout: 5s",
    "  retryTimeout: 2s",
    "  retryInterval: 500ms",
    "hosts:",
    ...[h1, h2].map((h) => `  ${h.name}: { ssh: { address: ${h.address} } }`),
    `  ${h3.name}: { ssh: { address: ${h3.address}, jump: [ { address: ${env.bastion.address} } ] } }`,
    "containers:",
  ];
  for (const [name, spec] of Object.entries(containers)) {
    lines.push(
      `  ${name}:`,
      `    name: ${prefix}-${name}`,
      `    host: ${spec.host.name}`,
      `    image: ${env.image}`,
      "    init: true",
      "    networkMode: none",
      `    args: [sleep, "100000"]`,
      `    env: { LEVEL: "${spec.env ?? "1"}" }`,
    );
    if (spec.file !== undefined) {
      lines.push(
        `    mounts: [ { source: ${files}/data/, target: /data } ]`,
        "    configFiles:",
        `      ${files}/app.conf: "${spec.file}"`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The first line a host's sshd sends, read over plain TCP. */
function sshBanner(host: TestHost): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: host.address, port: host.port, timeout: 5_000 });
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.includes("\n")) {
        socket.destroy();
        resolve(text.split(/\r?\n/)[0] ?? "");
      }
    });
    socket.on("timeout", () => socket.destroy(new Error(`no SSH banner from ${host.address}:${host.port} in 5 s`)));
    socket.on("error", reject);
    socket.on("close", () => resolve(text));
  });
}

/** Containers of this test on a host, straight from its engine: name -> [ids]. */
async function onHost(host: TestHost): Promise<Record<string, string[]>> {
  const filters = encodeURIComponent(JSON.stringify({ label: ["berth.managed=true"] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket: host.dockerSocket });
  const found: Record<string, string[]> = {};
  for (const c of body as { Id: string; Names: string[]; State: string }[]) {
    const name = (c.Names[0] ?? "").slice(1);
    if (name.startsWith(`${prefix}-`)) (found[name.slice(prefix.length + 1)] ??= []).push(c.State);
  }
  return found;
}

const apply = (args: string[] = []) => runCli(["apply", "--yes", ...args], dir);
const write = (containers: Record<string, Spec>) => writeFileSync(join(dir, "config.yaml"), config(containers));

let desired: Record<string, Spec> = {
  a: { host: h1 },
  b: { host: h1 },
  c: { host: h2, file: "greeting = hello" },
  d: { host: h2 },
  e: { host: h3 },
  f: { host: h3, file: "inner = yes" },
};

afterAll(async () => {
  await hostAction("sshd-start", h2.name);
  write({});
  await runCli(["destroy", "--yes"], dir);
  for (const host of [h1, h2, h3]) {
    const filters = encodeURIComponent(JSON.stringify({ label: ["berth.managed=true"] }));
    const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket: host.dockerSocket });
    for (const c of body as { Id: string; Names: string[] }[]) {
      if ((c.Names[0] ?? "").startsWith(`/${prefix}`)) {
        await dockerLocal(`/containers/${c.Id}?force=1`, { method: "DELETE", socket: host.dockerSocket });
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  for (const host of [h1, h2, h3]) rmSync(hostPath(env, host, files), { recursive: true, force: true });
}, 120_000);

describe("berth over SSH on a fleet of three hosts", () => {
  test(
    "apply spreads containers over all hosts, one through the bastion, with one SSH handshake per host",
    async () => {
      write(desired);
      const run = await apply(["--verbose"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("6 created");
      expect(await onHost(h1)).toEqual({ a: ["running"], b: ["running"] });
      expect(await onHost(h2)).toEqual({ c: ["running"], d: ["running"] });
      expect(await onHost(h3)).toEqual({ e: ["running"], f: ["running"] });
      // The same path holds each host's own file: h2's and h3's differ, h1 has none.
      expect(fileOn(h3, "app.conf")).toBe("inner = yes");
      expect(fileOn(h2, "app.conf")).toBe("greeting = hello");
      expect(() => fileOn(h1, "app.conf")).toThrow(/ENOENT/);
      for (const h of [h1, h2, h3]) {
        expect(run.stderr).toContain(
          `connection ssh:${h.address} via root@${h.address}:22`,
        );
      }
      expect(run.stderr.match(/: 1 SSH handshake\n/g)?.length).toBe(3);
      expect(run.stderr).not.toMatch(/SSH handshakes/);
    },
    120_000,
  );

  test("plan right after is empty (exit 0) and checks every host", async () => {
    const run = await runCli(["plan", "--verbose"], dir);
    expect(run.stdout).toContain("No changes");
    expect(run.code).toBe(0);
    expect(run.stderr.match(/: 1 SSH handshake\n/g)?.length).toBe(3);
  }, 60_000);

  test("a container moved from one host to another is removed there and created here", async () => {
    desired = { ...desired, b: { host: h2 } };
    write(desired);
    const plan = await runCli(["plan"], dir);
    expect(plan.stdout).toContain(`b recreate from ${h1.name} (${h1.address}) to ${h2.name} (${h2.address})`);
    expect((await apply()).code).toBe(0);
    expect(await onHost(h1)).toEqual({ a: ["running"] });
    expect(await onHost(h2)).toEqual({ b: ["running"], c: ["running"], d: ["running"] });
  }, 120_000);

  test("a config file changed on one host is rewritten and only its container restarted", async () => {
    desired = { ...desired, c: { host: h2, file: "greeting = bonjour" } };
    write(desired);
    const plan = await runCli(["--json", "plan"], dir);
    expect(JSON.parse(plan.stdout).plan.summary).toEqual({ "update-files": 1 });
    expect((await apply()).code).toBe(0);
    expect(fileOn(h2, "app.conf")).toBe("greeting = bonjour");
    expect(fileOn(h3, "app.conf")).toBe("inner = yes");
    expect((await runCli(["plan"], dir)).code).toBe(0);
  }, 120_000);

  test(
    "an unreachable host is reported and keeps its containers; the others converge; the next apply completes",
    async () => {
      const stateBefore = readFileSync(join(dir, "state.yaml"), "utf8");
      await hostAction("sshd-stop", h2.name);
      try {
        desired = { ...desired, a: { host: h1, env: "2" }, d: { host: h2, env: "2" } };
        write(desired);
        const run = await apply();
        expect(run.code).toBe(1);
        expect(run.stdout).toContain("a recreated");
        expect(run.stderr).toContain("Per host:");
        expect(run.stderr).toMatch(
          new RegExp(
            `${h2.name} \\(${h2.address.replaceAll(".", "\\.")}\\): 3 blocked: cannot check host ${
              h2.address.replaceAll(".", "\\.")
            }: .*Cannot connect`,
          ),
        );
        // h2's recorded containers are still in the state, as they were.
        const after = readFileSync(join(dir, "state.yaml"), "utf8");
        for (const name of ["b", "c", "d"]) expect(after).toContain(`${prefix}-${name}`);
        expect(after).not.toBe(stateBefore);
      } finally {
        await hostAction("sshd-start", h2.name);
      }
      const again = await apply();
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("d recreated");
      expect(await onHost(h1)).toEqual({ a: ["running"] });
      expect(await onHost(h2)).toEqual({ b: ["running"], c: ["running"], d: ["running"] });
    },
    120_000,
  );

  test("removing a host's containers from the config removes them from that host", async () => {
    const { e: _e, f: _f, ...rest } = desired;
    desired = rest;
    write(desired);
    const run = await apply();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("2 removed");
    expect(await onHost(h3)).toEqual({});
    expect((await runCli(["plan"], dir)).code).toBe(0);
  }, 120_000);
});

describe("berth over SSH: refused connections say why and change nothing", () => {
  const single = (ssh: string) =>
    [
      "hosts:",
      `  h1: { ssh: { address: ${h1.address}, ${ssh}, connectionTimeout: 5s, retryTimeout: 1s } }`,
      "containers:",
      `  z: { name: ${prefix}-z, host: h1, image: ${env.image}, networkMode: none, args: [sleep, "100000"] }`,
    ].join("\n");
  const attempt = async (ssh: string) => {
    const work = mkdtempSync(join(tmpdir(), "berth-refused-"));
    try {
      writeFileSync(join(work, "config.yaml"), single(ssh));
      const run = await runCli(["apply", "--yes"], work);
      return { ...run, state: readFileSync(join(work, "state.yaml"), "utf8") };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };

  test("a wrong key is refused with the user, host and methods tried", async () => {
    const run = await attempt(`privateKeyPath: ${env.ssh.wrongKeyPath}, knownHostsFile: ${env.ssh.knownHostsFile}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`root@${h1.address}:22`);
    expect(run.stderr).toMatch(/publickey/);
    expect(await onHost(h1)).toEqual({ a: ["running"] });
  }, 60_000);

  test("a wrong password is refused and never printed", async () => {
    // sshd is up (its banner), so a refusal cannot be a connection failure in disguise.
    expect(await sshBanner(h1)).toMatch(/^SSH-2\.0-/);
    const log = join(h1.dir, "sshd.log");
    const logBefore = readFileSync(log, "utf8").length;
    const run = await attempt(
      `user: ${env.ssh.passwordUser}, password: not-the-password-4711, knownHostsFile: ${env.ssh.knownHostsFile}`,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Authentication as ${env.ssh.passwordUser}@${h1.address}:22 failed (tried: password`);
    // h1's sshd itself saw the password and turned it down.
    expect(readFileSync(log, "utf8").slice(logBefore)).toContain(`Failed password for ${env.ssh.passwordUser} from`);
    expect(`${run.stdout}${run.stderr}${run.state}`).not.toContain("not-the-password-4711");
  }, 60_000);

  test(
    "an unknown host key is refused under the default strict policy, with its fingerprint and how to accept it",
    async () => {
      const empty = join(dir, "empty_known_hosts");
      writeFileSync(empty, "");
      const run = await attempt(`privateKeyPath: ${env.ssh.privateKeyPath}, knownHostsFile: ${empty}`);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
      expect(run.stderr).toContain("accept-new");
      expect(await onHost(h1)).toEqual({ a: ["running"] });
    },
    60_000,
  );
});

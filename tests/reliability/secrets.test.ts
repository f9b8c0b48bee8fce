/**
 * Secrets never leave the config: a password, an inline private key, a key
 * passphrase and registry credentials are used for real, then every output
 * of every command (stdout, stderr, state.yaml, saved plans, errors) is
 * searched for them (each distinct output once, `--verbose` runs included), and
 * each bad credential is shown to have reached its own error. Also: state, lock and plan files are 0600, a state
 * file readable by others is warned about, and berth listens on nothing.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockState } from "../../store/lock.ts";
import { runCli } from "../support/cli.ts";
import { loadTestEnv, type TestHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { containerYaml, endWithCensus, removeByPrefix, sleep, socketOf, spawnCli } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-secrets-"));
const prefix = `rel-sec-${process.pid}`;
const token = randomBytes(6).toString("hex");
const fake = { password: `S3cr3t-pw-${token}`, registry: `S3cr3t-reg-${token}`, badKey: `S3cr3t-key-${token}` };
const keyText = readFileSync(env.ssh.privateKeyPath, "utf8");
// A line from the middle of the key: what a leak of the key would contain.
const keyLine = keyText.split("\n").filter((l) => l.length > 40 && !l.startsWith("-----"))[1] as string;
const [h1, h2, h3] = env.hosts as [TestHost, TestHost, TestHost];

const SECRETS: Record<string, string> = {
  "ssh password": fake.password,
  "inline private key": keyLine,
  "key passphrase": env.ssh.passphrase,
  "registry password": env.registry.password,
  "unused registry password": fake.registry,
  "unparseable inline key": fake.badKey,
};

const indent = (text: string, n: number) => text.split("\n").map((l) => " ".repeat(n) + l).join("\n");

/**
 * h1: inline key plus a password; h2: passphrase-protected key, passphrase from the environment; local: registry
 * credentials. A generous connectionTimeout: with 3 s, handshakes on a loaded machine timed out now and then and
 * a host showed as unreachable, which is not what this file tests.
 */
function config(extra = ""): string {
  return `ssh:
  user: ${env.ssh.user}
  knownHostsFile: ${env.ssh.knownHostsFile}
  connectionTimeout: 15s
  retryTimeout: 1s
hosts:
  local: { direct: {} }
  h1:
    ssh:
      address: ${h1.address}
      password: "${fake.password}"
      privateKey: |
${indent(keyText.trimEnd(), 8)}
  h2: { ssh: { address: ${h2.address}, privateKeyPath: ${env.ssh.passphraseKeyPath}, passphrase: "\${env:REL_PASSPHRASE}" } }
  h3: { ssh: { address: ${h3.address}, privateKey: "${fake.badKey}", password: "${fake.password}", jump: [ { address: ${env.bastion.address}, privateKeyPath: ${env.ssh.privateKeyPath} } ] } }
containers:
  a: { host: local, name: ${prefix}-a, image: "${env.registry.authImage}", init: true, networkMode: none, args: [sleep, "100000"], runtime: { docker: { host: "unix://${env.local.socket}", registryAuth: { "${env.registry.authAddress}": { username: ${env.registry.username}, password: "${env.registry.password}" }, "docker.io": { username: me, password: "${fake.registry}" } } } } }
${containerYaml(env, "b", `${prefix}-b`, "h1", ', configFiles: { "/tmp/' + prefix + '-b.conf": "x" }')}${
    containerYaml(env, "c", `${prefix}-c`, "h2")
  }${extra}`;
}

const outputs: Array<{ what: string; text: string }> = [];
const ENV = { REL_PASSPHRASE: env.ssh.passphrase };

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(args, dir, ENV);
  outputs.push({ what: `berth ${args.join(" ")} (stdout)`, text: r.stdout }, {
    what: `berth ${args.join(" ")} (stderr)`,
    text: r.stderr,
  });
  for (const file of ["state.yaml", "plan.json"]) {
    if (existsSync(join(dir, file))) {
      outputs.push({ what: `${file} after berth ${args.join(" ")}`, text: readFileSync(join(dir, file), "utf8") });
    }
  }
  return r;
}

afterAll(async () => {
  for (const host of ["local", "h1", "h2", "h3"]) await removeByPrefix(socketOf(env, host), prefix);
  rmSync(dir, { recursive: true, force: true });
  rmSync(`/tmp/${prefix}-b.conf`, { force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("secrets and exposure", () => {
  test("plan, apply, status and --json, with secrets used for real, succeed", async () => {
    writeFileSync(join(dir, "config.yaml"), config());
    expect((await run(["validate"])).code).toBe(0);
    // The whole output on failure: a host found unreachable here makes the saved plan stale below.
    const plan = await run(["plan", "--out", "plan.json"]);
    expect({ code: plan.code, stdout: plan.stdout, blocked: plan.stdout.includes("blocked") }).toEqual({
      code: 2,
      stdout: plan.stdout,
      blocked: false,
    });
    expect(statSync(join(dir, "plan.json")).mode & 0o777).toBe(0o600);
    const apply = await run(["apply", "plan.json"]);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(statSync(join(dir, "state.yaml")).mode & 0o777).toBe(0o600);
    expect((await run(["status"])).code).toBe(0);
    expect((await run(["--json", "status"])).code).toBe(0);
    expect((await run(["--json", "plan"])).code).toBe(0);
    expect((await run(["--json", "apply", "--yes"])).code).toBe(0);
    // --verbose prints the hosts reached and the SSH handshakes: scanned too.
    const verbose = await run(["--verbose", "plan"]);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toContain("SSH handshake");
    expect((await run(["--verbose", "apply", "--yes"])).code).toBe(0);
  }, 120_000);

  test(
    "failing commands (bad key, wrong registry password, wrong ssh password) fail without showing the secret",
    async () => {
      writeFileSync(
        join(dir, "config.yaml"),
        config(
          containerYaml(env, "d", `${prefix}-d`, "h3") +
            `  e: { host: local, name: ${prefix}-e, image: "${env.registry.authAddress}/berth/missing-${token}:latest", runtime: { docker: { host: "unix://${env.local.socket}", registryAuth: { "${env.registry.authAddress}": { username: ${env.registry.username}, password: "${fake.registry}" } } } } }\n`,
        ),
      );
      const plan = await run(["plan"]);
      expect(plan.code).toBe(1); // h3's unusable key blocks its entry: an error for scripts, not drift
      const apply = await run(["--verbose", "apply", "--yes"]);
      expect(apply.code).toBe(1);
      const out = apply.stdout + apply.stderr;
      // Each bad credential reached its own error: the unparseable inline key of h3, the wrong registry password.
      expect(out).toMatch(
        new RegExp(`Cannot use the inline privateKey for [^\\n]*${h3.address.replaceAll(".", "\\.")}`),
      );
      expect(out).toContain("the registry refused the credentials");
      await run(["--json", "apply", "--yes"]);
      await run(["status"]);
      // A password user with the wrong password.
      writeFileSync(
        join(dir, "config.yaml"),
        `hosts:\n  p: { ssh: { address: ${h1.address}, user: ${env.ssh.passwordUser}, password: "${fake.password}", knownHostsFile: ${env.ssh.knownHostsFile}, retryTimeout: 1s } }\ncontainers:\n${
          containerYaml(env, "z", `${prefix}-z`, "p")
        }`,
      );
      rmSync(join(dir, "state.yaml"), { force: true });
      const auth = await run(["--verbose", "apply", "--yes"]);
      expect(auth.code).toBe(1);
      // The password was offered and refused (not some other failure).
      expect(auth.stdout + auth.stderr).toMatch(
        new RegExp(
          `Authentication as ${env.ssh.passwordUser}@${
            h1.address.replaceAll(".", "\\.")
          }:22 failed \\(tried: [^)]*password`,
        ),
      );
    },
    120_000,
  );

  test("no secret appears in any output, state file or saved plan", () => {
    // Each distinct text once: an unchanged state file after ten commands is one check, not ten.
    const distinct = new Map<string, string>();
    for (const { what, text } of outputs) if (text !== "" && !distinct.has(text)) distinct.set(text, what);
    const leaks: string[] = [];
    for (const [text, what] of distinct) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        tally("secretsChecks");
        if (text.includes(secret)) leaks.push(`${name} in ${what}`);
      }
    }
    console.log(
      `secrets: ${distinct.size} distinct outputs of ${outputs.length} scanned for ${
        Object.keys(SECRETS).length
      } secrets`,
    );
    expect(distinct.size).toBeGreaterThan(15);
    expect(leaks).toEqual([]);
  });

  test("lock files are created 0600, and a state file readable by others is warned about", async () => {
    const lock = await lockState(join(dir, "state.yaml"), { command: "test" });
    tally("secretsChecks");
    expect(statSync(lock.path).mode & 0o777).toBe(0o600);
    lock.release();
    writeFileSync(join(dir, "config.yaml"), config());
    writeFileSync(join(dir, "state.yaml"), "version: 1\ncontainers: {}\n");
    chmodSync(join(dir, "state.yaml"), 0o644);
    const plan = await run(["plan"]);
    tally("secretsChecks");
    expect(plan.stderr).toContain("readable by others");
    expect(plan.stderr).toContain("chmod 600");
    rmSync(join(dir, "state.yaml"));
  }, 60_000);

  test("during an apply over SSH berth has no listening socket", async () => {
    writeFileSync(join(dir, "config.yaml"), config());
    const child = spawnCli(["-c", join(dir, "config.yaml"), "-s", join(dir, "state.yaml"), "apply", "--yes"], ENV);
    const pid = child.child.pid as number;
    let sockets = 0;
    const listening: string[] = [];
    let finished = false;
    void child.exited.then(() => (finished = true));
    while (!finished) {
      const seen = listeningSockets(pid);
      sockets = Math.max(sockets, seen.sockets);
      listening.push(...seen.listening);
      await sleep(25);
    }
    tally("secretsChecks");
    expect((await child.exited).code).toBe(0);
    expect(sockets).toBeGreaterThan(0);
    expect(listening).toEqual([]);
  }, 120_000);
});

// The last config: a on local, b on h1, c on h2.
endWithCensus(env, () => ({ local: [`${prefix}-a`], h1: [`${prefix}-b`], h2: [`${prefix}-c`] }));

/** The process's socket inodes, and those of them that listen (TCP LISTEN, unix __SO_ACCEPTCON). */
function listeningSockets(pid: number): { sockets: number; listening: string[] } {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1] as string);
      } catch {
        // closed meanwhile
      }
    }
    const listening: string[] = [];
    for (const table of ["tcp", "tcp6"]) {
      for (const row of readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1)) {
        const cols = row.trim().split(/\s+/);
        if (cols[3] === "0A" && inodes.has(cols[9] as string)) listening.push(`${table} ${cols[1]}`);
      }
    }
    for (const row of readFileSync(`/proc/${pid}/net/unix`, "utf8").split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] === "00010000" && inodes.has(cols[6] as string)) listening.push(`unix ${cols[7] ?? "(anonymous)"}`);
    }
    return { sockets: inodes.size, listening };
  } catch {
    return { sockets: inodes.size, listening: [] }; // the process ended
  }
}

/**
 * "Changing how a host is reached recreates nothing", end to end through the
 * CLI over the SSH fleet: the port or user written out, the key moved to
 * another path, the connection timeouts, a bastion in front. Each change
 * plans nothing and applies nothing; the containers keep their ids on the
 * host's engine, and the host's sshd log shows which road was taken.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv, testHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";

const env = loadTestEnv();
const h1 = testHost(env, "h1");
const dir = mkdtempSync(join(tmpdir(), "berth-reach-"));
const prefix = `bt-reach-${process.pid}`;
const movedKey = join(dir, "moved_ed25519");
copyFileSync(env.ssh.privateKeyPath, movedKey);

function config(reach: string): string {
  return [
    "ssh:",
    `  knownHostsFile: ${env.ssh.knownHostsFile}`,
    `  privateKeyPath: ${env.ssh.privateKeyPath}`,
    "hosts:",
    `  h1: { ssh: { address: ${h1.address}${reach} } }`,
    "containers:",
    ...["a", "b"].map((key) =>
      `  ${key}: { name: ${prefix}-${key}, host: h1, image: ${env.image}, init: true, networkMode: none, ` +
      `args: [sleep, "100000"] }`
    ),
    "",
  ].join("\n");
}

/** This test's containers on h1, from h1's engine itself: name -> id. */
async function idsOnH1(): Promise<Record<string, string>> {
  const filters = encodeURIComponent(JSON.stringify({ name: [prefix] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket: h1.dockerSocket });
  return Object.fromEntries((body as Array<{ Id: string; Names: string[] }>).map((c) => [c.Names[0] ?? "", c.Id]));
}

const sshdLog = join(h1.dir, "sshd.log");

afterAll(async () => {
  writeFileSync(join(dir, "config.yaml"), config(""));
  await runCli(["destroy", "--yes"], dir);
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe("changing how a host is reached", () => {
  let ids: Record<string, string> = {};

  test("setup: two containers on h1", async () => {
    writeFileSync(join(dir, "config.yaml"), config(""));
    const run = await runCli(["apply", "--yes"], dir);
    expect(run.code).toBe(0);
    ids = await idsOnH1();
    expect(Object.keys(ids).sort()).toEqual([`/${prefix}-a`, `/${prefix}-b`]);
  }, 90_000);

  const bastion = env.bastion.address.replaceAll(".", "\\.");
  const direct = new RegExp(`Accepted publickey for root from (?!${bastion} )`);
  const changes: Array<[string, string, RegExp]> = [
    ["the port written out", ", port: 22", direct],
    ["the user written out", ", user: root", direct],
    ["the key moved to another path", `, privateKeyPath: ${movedKey}`, direct],
    ["other connection timeouts", ", connectionTimeout: 7s, retryTimeout: 3s", direct],
    [
      "a bastion in front",
      `, jump: [ { address: ${env.bastion.address} } ]`,
      new RegExp(`Accepted publickey for root from ${bastion} `),
    ],
  ];
  for (const [what, reach, seenByH1] of changes) {
    test(`${what}: the plan is empty, the apply changes nothing, every container keeps its id`, async () => {
      writeFileSync(join(dir, "config.yaml"), config(reach));
      const logBefore = readFileSync(sshdLog, "utf8").length;
      const plan = await runCli(["plan"], dir);
      expect(plan.stderr).toBe("");
      expect(plan.stdout).toContain("No changes");
      expect(plan.code).toBe(0);
      const applied = await runCli(["apply", "--yes"], dir);
      expect(applied.code).toBe(0);
      expect(applied.stdout).not.toMatch(/created|recreated|removed|started/);
      expect(await idsOnH1()).toEqual(ids);
      // h1's own sshd saw the connection come the new way.
      expect(readFileSync(sshdLog, "utf8").slice(logBefore)).toMatch(seenByH1);
    }, 90_000);
  }
});

/**
 * Safe image changes on real engines (issue 13, part A): an apply pulls every
 * image it needs before it stops anything, so a bad tag leaves the old
 * containers running on every host. Checked through each engine's own HTTP
 * API, not berth's client.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv, type TestHost } from "../support/env.ts";

const env = loadTestEnv();
const hosts = env.hosts.slice(0, 3) as [TestHost, TestHost, TestHost];
const dir = mkdtempSync(join(tmpdir(), "berth-safe-image-"));
const prefix = `bt-simg-${process.pid}`;

/** The fleet config: one `web-<host>` per host, all running `image`. */
function fleetConfig(image: string): string {
  const lines = [
    "ssh:",
    `  privateKeyPath: ${env.ssh.privateKeyPath}`,
    `  knownHostsFile: ${env.ssh.knownHostsFile}`,
    "  connectionTimeout: 5s",
    "hosts:",
    ...hosts.map((h) =>
      h.viaBastion
        ? `  ${h.name}: { ssh: { address: ${h.address}, jump: [ { address: ${env.bastion.address} } ] } }`
        : `  ${h.name}: { ssh: { address: ${h.address} } }`
    ),
    "containers:",
  ];
  for (const h of hosts) {
    lines.push(
      `  web-${h.name}:`,
      `    name: ${prefix}-web`,
      `    host: ${h.name}`,
      `    image: ${image}`,
      "    init: true",
      "    networkMode: none",
      `    args: [sleep, "100000"]`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** This test's container on a host, straight from its engine. */
async function webOn(host: TestHost): Promise<{ id: string; state: string; image: string }[]> {
  const filters = encodeURIComponent(JSON.stringify({ name: [`${prefix}-web`] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`, { socket: host.dockerSocket });
  return (body as { Id: string; State: string; Image: string }[]).map((c) => ({
    id: c.Id,
    state: c.State,
    image: c.Image,
  }));
}

afterAll(async () => {
  for (const host of hosts) {
    for (const c of await webOn(host)) {
      await dockerLocal(`/containers/${c.id}?force=1`, { method: "DELETE", socket: host.dockerSocket });
    }
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("pull first", () => {
  test(
    "a bad tag for a container on 3 hosts leaves the 3 old containers running; exit 1; the state is true",
    async () => {
      writeFileSync(join(dir, "config.yaml"), fleetConfig(env.image));
      expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
      const before = await Promise.all(hosts.map(webOn));
      for (const found of before) expect(found.map((c) => c.state)).toEqual(["running"]);
      const stateBefore = readFileSync(join(dir, "state.yaml"), "utf8");

      // Nothing listens on the registry port inside the hosts' namespaces: every pull fails.
      const bad = "127.0.0.1:5000/berth/no-such-image:1";
      writeFileSync(join(dir, "config.yaml"), fleetConfig(bad));
      const run = await runCli(["apply", "--yes"], dir);
      expect(run.code).toBe(1);
      for (const h of hosts) {
        expect(run.stdout + run.stderr).toMatch(new RegExp(`web-${h.name}[^\\n]*pulling image "${bad}"`));
      }
      // The same containers, untouched and running, on every host.
      expect(await Promise.all(hosts.map(webOn))).toEqual(before);
      expect(readFileSync(join(dir, "state.yaml"), "utf8")).toBe(stateBefore);
      const plan = await runCli(["--json", "plan"], dir);
      expect(JSON.parse(plan.stdout).plan.summary).toEqual({ recreate: 3 });
    },
    90_000,
  );
});

/**
 * `plan` and `status` report a refused connection and an unknown host name at once (one attempt);
 * `apply` retries until retryTimeout and says so, with the time it gives up. The hosts are an SSH
 * port on loopback where nothing listens (the kernel refuses) and a name under `.invalid`, which
 * never resolves: no test fleet is needed. The time is measured around the CLI call itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-fail-fast-"));
writeFileSync(join(dir, "known_hosts"), "");
// retryTimeout 60s: were plan to retry, it would take a minute; apply's message shows the deadline.
const ssh = "password: unused, knownHostsFile: known_hosts, retryTimeout: 2s, retryInterval: 500ms";
writeFileSync(
  join(dir, "config.yaml"),
  `hosts:\n  refused: { ssh: { address: 127.0.0.1, port: 1, ${ssh.replace("2s", "60s")} } }\n` +
    `  unknown: { ssh: { address: no-such-host.invalid, ${ssh.replace("2s", "60s")} } }\n` +
    "containers:\n  a: { host: refused, image: busybox:latest }\n  b: { host: unknown, image: busybox:latest }\n",
);
writeFileSync(
  join(dir, "apply.yaml"),
  `hosts:\n  refused: { ssh: { address: 127.0.0.1, port: 1, ${ssh} } }\n` +
    "containers:\n  a: { host: refused, image: busybox:latest }\n",
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function timed(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const run = await runCli(args, dir);
  return { ...run, ms: performance.now() - started };
}

describe("fail fast", () => {
  for (const command of ["plan", "status"]) {
    test(`${command}: a refused connection and an unknown host name fail at once, one attempt each`, async () => {
      const run = await timed([command]);
      expect(run.code).toBe(1);
      // Under 2 s is the target on a quiet machine; 10 s still tells "at once" from 60 s of retries.
      expect(run.ms).toBeLessThan(10_000);
      const out = run.stdout + run.stderr;
      expect(out).toContain("ECONNREFUSED");
      expect(out).toContain("ENOTFOUND no-such-host.invalid");
      expect(out).toContain("(1 attempt in ");
      expect(out).not.toContain("retrying");
    }, 30_000);
  }

  test("apply retries a refused host until retryTimeout, and says so with the time it gives up", async () => {
    const run = await timed(["-c", "apply.yaml", "-s", "apply-state.yaml", "apply", "--yes"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /warning: root@127\.0\.0\.1:1: connect ECONNREFUSED [^\n]*: retrying every 0\.5s until \d\d:\d\d:\d\d UTC \(retryTimeout 2s\)/,
    );
    expect(run.stdout).toMatch(/\(\d+ attempts in \d\.\ds\)/);
    expect(run.ms).toBeGreaterThan(1_000);
  }, 30_000);
});

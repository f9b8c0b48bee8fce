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

// ---- image policy and identity, rollback: on the local engine, which reaches the loopback registry ----

const local = env.local.socket;
const repository = `${env.registry.address}/berth/simg-${process.pid}`;
const tagged = `${repository}:live`;
const localDir = mkdtempSync(join(tmpdir(), "berth-safe-image-local-"));
const appName = `${prefix}-app`;

function localConfig(level: string, pull = "always"): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  docker: { host: "unix://${local}" }`,
    `pull: ${pull}`,
    "containers:",
    "  app:",
    `    name: ${appName}`,
    "    host: local",
    `    image: ${tagged}`,
    "    init: true",
    "    networkMode: none",
    `    args: [sleep, "100000"]`,
    `    env: { LEVEL: "${level}" }`,
    "",
  ].join("\n");
}

/** A new image under `tagged` (berth-test with another label, so another ID), pushed, then untagged here. */
async function pushNewImage(label: string): Promise<string> {
  const created = await dockerLocal("/containers/create", { method: "POST", body: { Image: env.image } });
  const container = (created.body as { Id: string }).Id;
  const changes = encodeURIComponent(`LABEL simg=${label}`);
  const commit = await dockerLocal(
    `/commit?container=${container}&repo=${encodeURIComponent(repository)}&tag=live&changes=${changes}`,
    { method: "POST" },
  );
  await dockerLocal(`/containers/${container}?force=1`, { method: "DELETE" });
  const id = (commit.body as { Id: string }).Id;
  const auth = Buffer.from("{}").toString("base64");
  const push = await dockerLocal(`/images/${encodeURIComponent(repository)}/push?tag=live`, {
    method: "POST",
    headers: { "X-Registry-Auth": auth },
  });
  expect(String(push.body)).not.toContain('"error"');
  // Untagged here, so apply has to pull it.
  await dockerLocal(`/images/${encodeURIComponent(tagged)}`, { method: "DELETE" });
  return id;
}

/** The app container as the engine reports it. */
async function inspectApp(): Promise<
  { Id: string; Image: string; State: { Status: string }; Config: { Env: string[] } }
> {
  const { status, body } = await dockerLocal(`/containers/${appName}/json`);
  expect(status).toBe(200);
  return body as { Id: string; Image: string; State: { Status: string }; Config: { Env: string[] } };
}

afterAll(async () => {
  await dockerLocal(`/containers/${appName}?force=1`, { method: "DELETE" });
  for (const ref of [tagged]) await dockerLocal(`/images/${encodeURIComponent(ref)}?force=1`, { method: "DELETE" });
  rmSync(localDir, { recursive: true, force: true });
}, 60_000);

let first = "";
let second = "";

describe("image policy and identity", () => {
  test("the state records the image ID and repo digest the container runs", async () => {
    first = await pushNewImage("1");
    writeFileSync(join(localDir, "config.yaml"), localConfig("1"));
    const run = await runCli(["apply", "--yes"], localDir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect((await inspectApp()).Image).toBe(first);
    const state = readFileSync(join(localDir, "state.yaml"), "utf8");
    expect(state).toContain(`id: ${first}`);
    expect(state).toMatch(new RegExp(`digest: ${repository.replaceAll(".", "\\.")}@sha256:[0-9a-f]{64}`));
    expect((await runCli(["plan"], localDir)).code).toBe(0);
  }, 60_000);

  test(
    "pull: always — a tag moved to another image in the registry is planned as a recreate with both images",
    async () => {
      second = await pushNewImage("2");
      const plan = await runCli(["--json", "plan"], localDir);
      const change = JSON.parse(plan.stdout).plan.changes[0];
      expect(change.action).toBe("recreate");
      expect(change.reasons[0]).toContain("now points at another image");
      expect(change.diff[0].before).toContain(first);
      expect(change.diff[0].after).toMatch(/@sha256:[0-9a-f]{64}/);
      // The plan pulled nothing: the new image is still not on the engine.
      expect((await dockerLocal(`/images/${encodeURIComponent(tagged)}/json`)).status).toBe(404);
      const run = await runCli(["apply", "--yes"], localDir);
      expect(run.code).toBe(0);
      expect((await inspectApp()).Image).toBe(second);
      expect(readFileSync(join(localDir, "state.yaml"), "utf8")).toContain(`id: ${second}`);
      expect((await runCli(["plan"], localDir)).code).toBe(0);
    },
    60_000,
  );

  test(
    "pull: never — an image that is not there fails the change with the fix; the old container runs on",
    async () => {
      const before = await inspectApp();
      writeFileSync(join(localDir, "config.yaml"), localConfig("1", "never").replace(tagged, `${repository}:absent`));
      const run = await runCli(["apply", "--yes"], localDir);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toContain(
        "pull policy is never: load or pull it there first, or set pull: missing",
      );
      const after = await inspectApp();
      expect([after.Id, after.State.Status]).toEqual([before.Id, "running"]);
    },
    60_000,
  );
});

describe("rollback", () => {
  test("berth rollback returns a changed env var and image (shown as a plan first)", async () => {
    const third = await pushNewImage("3");
    writeFileSync(join(localDir, "config.yaml"), localConfig("2"));
    expect((await runCli(["apply", "--yes"], localDir)).code).toBe(0);
    const changed = await inspectApp();
    expect(changed.Image).toBe(third);
    expect(changed.Config.Env).toContain("LEVEL=2");

    const run = await runCli(["--json", "rollback", "--yes"], localDir);
    expect(run.code).toBe(0);
    // NDJSON, as apply's: the plan first, then events and a summary.
    const out = JSON.parse(run.stdout.split("\n")[0] as string);
    expect(out.type).toBe("plan");
    expect(out.plan.summary).toEqual({ recreate: 1 });
    const diff = out.plan.changes[0].diff as { path: string; before?: string; after?: string }[];
    expect(diff.find((d) => d.path === "env.LEVEL")).toEqual({ op: "~", path: "env.LEVEL", before: "2", after: "1" });
    expect(diff.find((d) => d.path === "image")?.after).toMatch(/@sha256:[0-9a-f]{64}$/);
    const back = await inspectApp();
    expect([back.Image, back.State.Status]).toEqual([second, "running"]);
    expect(back.Config.Env).toContain("LEVEL=1");
    // Rolled back again: the generation it left is the previous one now.
    const again = await runCli(["rollback", "--yes", "app"], localDir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("app recreate");
    const forth = await inspectApp();
    expect(forth.Image).toBe(third);
    expect(forth.Config.Env).toContain("LEVEL=2");
  }, 60_000);

  test("a name without a previous generation, or not in the state, is refused with the reason", async () => {
    const unknown = await runCli(["rollback", "--yes", "ap"], localDir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No container "ap" in the state: did you mean "app"?');
  }, 30_000);
});

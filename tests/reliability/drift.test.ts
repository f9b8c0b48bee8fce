/**
 * Drift on a fleet host, through the CLI: a container removed, stopped,
 * renamed or replaced by hand, a config file edited or deleted, a mount
 * directory replaced by a file, a config file's parent replaced by a
 * symlink. Each is detected by plan and repaired, or refused with a clear
 * reason by apply.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { dockerLocal, hostPath, loadTestEnv, testHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { census, endWithCensus, fleetHosts, managedContainers, removeByPrefix, socketOf } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-drift-"));
const prefix = `rel-drift-${process.pid}`;
const socket = socketOf(env, "h1");
const web = `${prefix}-web`;
// Paths as berth names them on h1; the test reads and edits them through h1's own view (at).
const files = `${env.view}/${prefix}`;
const conf = `${files}/etc/web.conf`;
const data = `${files}/data`;
const at = (path: string) => hostPath(env, testHost(env, "h1"), path);

writeFileSync(
  join(dir, "config.yaml"),
  `${fleetHosts(env)}containers:
  web:
    host: h1
    name: ${web}
    image: ${env.image}
    init: true
    networkMode: none
    args: [sleep, "100000"]
    mounts: [ { source: ${data}/, target: /data } ]
    configFiles: { "${conf}": "greeting = hello\\n" }
`,
);

const plan = async () =>
  JSON.parse((await runCli(["--json", "plan"], dir)).stdout).plan as {
    summary: Record<string, number>;
    changes: Array<{ name: string; action: string; reasons: string[] }>;
  };
const id = async () => (await managedContainers(socket, web)).find((c) => c.name === web)?.id as string;

/** Plan shows `action` for web with a reason matching `reason`; apply repairs it; then nothing is left to do. */
async function repaired(action: string, reason: RegExp): Promise<void> {
  tally("faults");
  const p = await plan();
  const change = p.changes.find((c) => c.name === "web");
  expect(change?.action).toBe(action);
  expect(change?.reasons.join("; ")).toMatch(reason);
  const apply = await runCli(["apply", "--yes"], dir);
  expect({ code: apply.code, err: apply.stderr }).toEqual({ code: 0, err: "" });
  expect((await plan()).changes.find((c) => c.name === "web")?.action).toBe("nothing");
  expect(await census(socket, prefix, [web])).toEqual({ lost: [], duplicated: [], orphans: [] });
}

afterAll(async () => {
  await removeByPrefix(socket, prefix);
  rmSync(dir, { recursive: true, force: true });
  rmSync(at(files), { recursive: true, force: true });
  saveTally(import.meta.url);
}, 60_000);

describe("drift on fleet host h1", () => {
  test("setup: apply creates the container, its config file and mount directory", async () => {
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
    expect(readFileSync(at(conf), "utf8")).toBe("greeting = hello\n");
    // Written on h1 only: the test machine's own view has no such file.
    expect(() => readFileSync(conf)).toThrow(/ENOENT/);
  }, 60_000);

  test("a container removed by hand is recreated", async () => {
    await dockerLocal(`/containers/${await id()}?force=1`, { method: "DELETE", socket });
    await repaired("create", /no longer exists/);
  }, 60_000);

  test("a container stopped by hand is started", async () => {
    await dockerLocal(`/containers/${await id()}/stop?t=1`, { method: "POST", socket });
    await repaired("start", /exited/);
  }, 60_000);

  test("a container renamed by hand is detected and replaced under its name", async () => {
    await dockerLocal(`/containers/${await id()}/rename?name=${web}-moved`, { method: "POST", socket });
    await repaired("recreate", /renamed/);
  }, 60_000);

  test("a config file edited on the host is rewritten", async () => {
    writeFileSync(at(conf), "greeting = tampered\n");
    await repaired("update-files", /differs/);
    expect(readFileSync(at(conf), "utf8")).toBe("greeting = hello\n");
  }, 60_000);

  test("a config file deleted on the host is written again", async () => {
    rmSync(at(conf));
    await repaired("update-files", /missing/);
    expect(readFileSync(at(conf), "utf8")).toBe("greeting = hello\n");
  }, 60_000);

  test("a container replaced by hand under its name is refused with the reason", async () => {
    tally("faults");
    await dockerLocal(`/containers/${await id()}?force=1`, { method: "DELETE", socket });
    const created = await dockerLocal(`/containers/create?name=${web}`, {
      method: "POST",
      socket,
      body: { Image: env.image, Cmd: ["sleep", "100000"], HostConfig: { Init: true, NetworkMode: "none" } },
    });
    expect(created.status).toBe(201);
    const p = await plan();
    expect(p.changes.find((c) => c.name === "web")?.action).toBe("blocked");
    const apply = await runCli(["apply", "--yes"], dir);
    expect(apply.code).toBe(1);
    expect(apply.stdout + apply.stderr).toContain("which berth did not create");
    await dockerLocal(`/containers/${(created.body as { Id: string }).Id}?force=1`, { method: "DELETE", socket });
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
  }, 60_000);

  test("a mount directory replaced by a file is refused with the reason", async () => {
    tally("faults");
    rmSync(at(data), { recursive: true });
    writeFileSync(at(data), "not a directory");
    const apply = await runCli(["apply", "--yes"], dir);
    expect(apply.code).toBe(1);
    expect(apply.stdout + apply.stderr).toContain(`mount source "${data}/" is a file`);
    rmSync(at(data));
    mkdirSync(at(data));
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
  }, 60_000);

  test(
    "a config file whose parent directory became a symlink is refused as UNSAFE_PATH, never written elsewhere",
    async () => {
      tally("faults");
      const elsewhere = `${files}/elsewhere`;
      mkdirSync(at(elsewhere));
      rmSync(at(`${files}/etc`), { recursive: true });
      symlinkSync(elsewhere, at(`${files}/etc`));
      const apply = await runCli(["apply", "--yes"], dir);
      expect(apply.code).toBe(1);
      expect(apply.stdout + apply.stderr).toContain("symbolic link");
      expect(apply.stdout + apply.stderr).not.toContain("    at ");
      expect(() => readFileSync(at(`${elsewhere}/web.conf`))).toThrow(/ENOENT/);
    },
    60_000,
  );
});

endWithCensus(env, () => ({ h1: [web] }));

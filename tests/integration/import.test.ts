/**
 * `berth import NAME` on the real local Docker engine: containers made with raw engine HTTP (berth's code
 * not involved), one matching its config (made the `docker run -v` way, with Binds), one not. The matching
 * one is taken into the state untouched (same id, same StartedAt: never restarted) and the plan is then
 * empty; the other's differences are shown and planned as a recreate. Checked through the engine's own
 * answers and the state file. On containerd through CRI, import is refused with the advice (its runtime
 * reads no settings back, and restarts a container from the config berth stored on its sandbox).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { createBody } from "../../runtimes/docker/create-body.ts";
import type { ContainerConfig } from "../../core/model.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const env = loadTestEnv();
const OUTPUT = JSON.parse(readFileSync(new URL("../../schema/output.schema.json", import.meta.url), "utf8"));
const outputErrors = (name: string, value: unknown) =>
  schemaErrors(inlineRefs({ $ref: `#/$defs/${name}` }, OUTPUT), value);
const dir = mkdtempSync(join(tmpdir(), "berth-import-"));
const prefix = `bt-import-${process.pid}`;
mkdirSync(join(dir, "data"));
/** Many fields at once, for the read-back to meet berth's own create body. */
const WIDE = {
  host: "local",
  name: `${prefix}-wide`,
  image: env.image,
  init: true,
  networkMode: "none",
  entrypoint: ["sh", "-c"],
  args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
  workingDir: "/tmp",
  env: { A: "1", B: "x=y" },
  user: "1000",
  group: "50",
  mounts: [
    { source: `${dir}/data/`, target: "/data", readOnly: true },
    { type: "tmpfs", target: "/scratch", size: "1m", mode: "700" },
  ],
};
writeFileSync(
  join(dir, "config.yaml"),
  `hosts: { local: { direct: {} } }
runtime: { docker: { host: "unix://${env.local.socket}" } }
x-base: &base { host: local, image: ${env.image}, init: true, networkMode: none }
containers:
  web:
    <<: *base
    name: ${prefix}-web
    env: { LEVEL: "1" }
    args: [sleep, "100000"]
    mounts: [ { source: ${dir}/data/, target: /data, readOnly: true } ]
  other:
    <<: *base
    name: ${prefix}-other
    env: { LEVEL: "2" }
    args: [sleep, "100000"]
  wide: ${JSON.stringify(WIDE)}
`,
);

interface Seen {
  Id: string;
  State: { Status: string; StartedAt: string };
}

/** A container made as an operator would by hand: raw engine HTTP, no berth labels. */
async function makeByHand(name: string, body: Record<string, unknown>): Promise<Seen> {
  const created = await dockerLocal(`/containers/create?name=${name}`, { method: "POST", body });
  expect(created.status).toBe(201);
  const id = (created.body as { Id: string }).Id;
  expect((await dockerLocal(`/containers/${id}/start`, { method: "POST" })).status).toBe(204);
  return await seen(id);
}

async function seen(idOrName: string): Promise<Seen> {
  return (await dockerLocal(`/containers/${idOrName}/json`)).body as Seen;
}

afterAll(async () => {
  for (const name of ["web", "other", "wide"]) {
    await dockerLocal(`/containers/${prefix}-${name}?force=1`, { method: "DELETE" });
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("berth import on Docker", () => {
  let web: Seen;
  let other: Seen;
  let wide: Seen;

  test("a plan names a container berth did not make and suggests the import", async () => {
    web = await makeByHand(`${prefix}-web`, {
      Image: env.image,
      Cmd: ["sleep", "100000"],
      Env: ["LEVEL=1"],
      HostConfig: { Init: true, NetworkMode: "none", Binds: [`${dir}/data:/data:ro`] },
    });
    other = await makeByHand(`${prefix}-other`, {
      Image: env.image,
      Cmd: ["sleep", "99999"],
      Env: ["LEVEL=3"],
      HostConfig: { Init: true, NetworkMode: "none" },
    });
    const { host: _host, ...config } = WIDE;
    wide = await makeByHand(WIDE.name, createBody(config as ContainerConfig, { labels: {} }) as never);
    const plan = await runCli(["plan"], dir);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(`"berth import web" takes it into the state`);
  }, 30_000);

  test("matching settings: imported untouched (same id, not restarted), then the plan is empty", async () => {
    const run = await runCli(["import", "web"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toContain(`Imported "web" (${web.Id.slice(0, 12)}, running) on host local into the state`);
    expect(run.stdout).toContain("Its settings match the config.");
    expect(run.stdout).toContain("  ! other blocked on local");
    const after = await seen(web.Id);
    expect(after.State).toEqual(web.State);
    expect(readFileSync(join(dir, "state.yaml"), "utf8")).toContain(web.Id);
    const plan = await runCli(["--json", "plan", "--target", "web"], dir);
    expect(plan.code).toBe(0);
    const changes = JSON.parse(plan.stdout).plan.changes as Array<{ name: string; action: string }>;
    expect(changes.map((c) => [c.name, c.action])).toEqual([["web", "nothing"]]);
    expect((await seen(web.Id)).State).toEqual(web.State);
  }, 30_000);

  test("made with berth's own create body, minus labels: every field reads back as the config says", async () => {
    const run = await runCli(["import", "wide"], dir);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toContain("Its settings match the config.");
    expect(run.stdout).not.toContain("Not compared");
    expect((await seen(wide.Id)).State).toEqual(wide.State);
  }, 30_000);

  test("other settings: the difference is shown and planned as a recreate; apply makes it match", async () => {
    const run = await runCli(["--json", "import", "other"], dir);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(outputErrors("importOutput", out)).toEqual([]); // as schema/output.schema.json documents it
    expect(out.imported).toMatchObject({ name: "other", id: other.Id, status: "running", notCompared: [] });
    expect(out.imported.diff).toEqual([
      { op: "~", path: "args[1]", before: "99999", after: "100000" },
      { op: "~", path: "env.LEVEL", before: "3", after: "2" },
    ]);
    expect(out.plan.changes.find((c: { name: string }) => c.name === "other")).toMatchObject({ action: "recreate" });
    expect((await seen(other.Id)).State).toEqual(other.State); // the import itself touched nothing
    const apply = await runCli(["apply", "--yes"], dir);
    expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: "" });
    expect(apply.stdout).toContain(`~ args[1]: "99999" -> "100000"`);
    expect((await dockerLocal(`/containers/${other.Id}/json`)).status).toBe(404);
    expect((await seen(web.Id)).State).toEqual(web.State);
    expect((await seen(wide.Id)).State).toEqual(wide.State);
    const again = await runCli(["plan"], dir);
    expect({ code: again.code, out: again.stdout }).toEqual({
      code: 0,
      out: "No changes: the hosts match the desired state.\n",
    });
  }, 60_000);

  test("bad names: not in the config (did-you-mean), already in the state, nothing on the host", async () => {
    const typo = await runCli(["import", "webb"], dir);
    expect({ code: typo.code, stderr: typo.stderr }).toEqual({
      code: 1,
      stderr: `berth: No container "webb" in the config: did you mean "web"?\n`,
    });
    const twice = await runCli(["import", "web"], dir);
    expect(twice.stderr).toContain(`"web" is already in the state (container ${web.Id.slice(0, 12)} on host local)`);
    await runCli(["destroy", "--yes"], dir);
    const none = await runCli(["import", "web"], dir);
    expect(none.stderr).toContain(
      `No container named "${prefix}-web" on host local to import: "berth apply" creates it`,
    );
  }, 60_000);
});

describe("berth import on CRI (local containerd)", () => {
  test("refused with the advice: the CRI runtime reads no settings back to compare", async () => {
    const cri = loadCriEnv();
    const criDir = mkdtempSync(join(tmpdir(), "berth-import-cri-"));
    const config = (level: string) =>
      `hosts: { local: { direct: {} } }
runtime: { kubelet: { address: "unix://${cri.local.socket}" } }
containers:
  c: { name: ${prefix}-c, host: local, image: ${cri.image}, networkMode: host, env: { LEVEL: "${level}" }, entrypoint: [sh, -c], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"] }
`;
    try {
      writeFileSync(join(criDir, "config.yaml"), config("1"));
      expect((await runCli(["apply", "--yes"], criDir)).code).toBe(0);
      // The state lost and the config changed: the container holds the name, but is neither recorded nor adoptable.
      renameSync(join(criDir, "state.yaml"), join(criDir, "kept.yaml"));
      writeFileSync(join(criDir, "config.yaml"), config("2"));
      const run = await runCli(["import", "c"], criDir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `Cannot import "c" on host local: its runtime cannot read a container's settings back to compare them`,
      );
      expect(run.stderr).toContain(`and let "berth apply" create it`);
    } finally {
      if (existsSync(join(criDir, "kept.yaml"))) renameSync(join(criDir, "kept.yaml"), join(criDir, "state.yaml"));
      await runCli(["destroy", "--yes"], criDir);
      rmSync(criDir, { recursive: true, force: true });
    }
  }, 60_000);
});

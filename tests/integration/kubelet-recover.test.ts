/**
 * `berth state recover` on containerd (the kubelet runtime): a lost state
 * file is rebuilt from what CRI reports, the next plan is empty, and the
 * ids are the sandboxes containerd's own client (`ctr`) lists.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-cri-recover-"));
const prefix = `bt-crirec-${process.pid}`;

const config = [
  "hosts:",
  "  local: { direct: {} }",
  "runtime:",
  `  kubelet: { address: "unix://${cri.local.socket}" }`,
  "containers:",
  ...["a", "b"].map((key) =>
    `  ${key}: { name: ${prefix}-${key}, host: local, image: ${cri.image}, networkMode: host, ` +
    `entrypoint: [sh, -c], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"] }`
  ),
  "",
].join("\n");

/** `ctr` on the local containerd: ids of the pod sandboxes (berth's container ids on CRI) with berth's name label. */
function ctrIds(name: string): string[] {
  const ctr = (...args: string[]) =>
    execFileSync("ctr", ["-a", cri.local.socket, "-n", "k8s.io", ...args], { encoding: "utf8" });
  const ids = ctr("containers", "ls", "-q", `labels."berth.name"==${name}`).split("\n").filter((l) => l !== "");
  return ids.filter((id) => ctr("containers", "info", id).includes('"io.cri-containerd.kind": "sandbox"'));
}

afterAll(async () => {
  writeFileSync(join(dir, "config.yaml"), "hosts: { local: { direct: {} } }\ncontainers: {}\n");
  await runCli(["destroy", "--yes"], dir);
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe("state recovery on containerd (CRI)", () => {
  test("`berth state recover` rebuilds a deleted state file from CRI so the next plan is empty", async () => {
    writeFileSync(join(dir, "config.yaml"), config);
    const applied = await runCli(["apply", "--yes"], dir);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const ids = { a: ctrIds(`${prefix}-a`), b: ctrIds(`${prefix}-b`) };
    expect([ids.a.length, ids.b.length]).toEqual([1, 1]);
    rmSync(join(dir, "state.yaml"));
    const run = await runCli(["state", "recover", "--name-prefix", prefix], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Recovered 2 container(s) on 1 host(s)");
    expect(existsSync(join(dir, "state.yaml.lock"))).toBe(false);
    const state = readFileSync(join(dir, "state.yaml"), "utf8");
    for (const id of [...ids.a, ...ids.b]) expect(state).toContain(`id: ${id}`);
    const plan = await runCli(["plan"], dir);
    expect(plan.stdout).toContain("No changes");
    expect(plan.code).toBe(0);
    // Nothing was duplicated or replaced on containerd.
    expect({ a: ctrIds(`${prefix}-a`), b: ctrIds(`${prefix}-b`) }).toEqual(ids);
  }, 120_000);
});

/**
 * berth killed (SIGKILL) at random points of a recreate on containerd (the
 * kubelet runtime, stop-first: the new sandbox beside the old one): right
 * after the kill the name has its old or its new sandbox, at most one more;
 * the next apply converges to exactly one sandbox, its container running the
 * new config. Counted through `ctr`, not berth's runtime.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { runCli } from "../support/cli.ts";
import { criSandboxes, removeCriSandboxes } from "../support/cri-sandboxes.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { loadCriEnv } from "../integration/kubelet-env.ts";
import { killApply } from "./fleet.ts";
import { saveTally } from "./tally.ts";

const cri = loadCriEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-rel-crireplace-"));
const name = `rel-crireplace-${process.pid}`;
const ITERATIONS = Number(process.env["BERTH_REL_REPLACE_ITERATIONS"] ?? 2);

function config(round: number): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  kubelet: { address: "unix://${cri.local.socket}" }`,
    "containers:",
    `  web: { name: ${name}, host: local, image: ${cri.image}, networkMode: host, env: { ROUND: "${round}" },`,
    `    entrypoint: [sh, -c], args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],`,
    `    healthcheck: { test: "true", interval: 200ms } }`,
    "",
  ].join("\n");
}

let seed = 23;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

afterAll(async () => {
  writeFileSync(join(dir, "config.yaml"), "hosts: { local: { direct: {} } }\ncontainers: {}\n");
  let failure: string | undefined;
  try {
    const destroy = await runCli(["destroy", "--yes"], dir);
    if (destroy.code !== 0) failure = `berth destroy exited ${destroy.code}: ${destroy.stderr.trim()}`;
    // A sandbox the state does not record (a kill before it was written) is not destroyed by berth.
    const transport = directTransport();
    const raw = kubeletRuntime({ address: `unix://${cri.local.socket}` }, { transport, hostLabel: "local" });
    try {
      for (const c of await raw.list({ "berth.name": name })) await raw.remove(c.id, { force: true });
    } finally {
      await raw.close();
      await transport.close();
    }
  } catch (err) {
    failure = `${failure === undefined ? "" : `${failure}; `}${(err as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    saveTally(import.meta.url);
  }
  // Whatever berth left would make every later file's census fail: removed through ctr, and reported.
  const removed = removeCriSandboxes(cri.local.socket, name);
  if (failure !== undefined || removed.length > 0) {
    const how = failure === undefined ? "reported no error but" : `failed (${failure}) and`;
    throw new Error(
      `berth's cleanup ${how} left ${removed.length} sandbox(es) of "${name}": removed through ctr instead (${
        removed.join(", ") || "none"
      }), so that later files' census does not count them`,
    );
  }
}, 90_000);

describe("berth killed during a recreate on containerd (CRI)", () => {
  let round = 0;

  test("setup: the first apply creates the container", async () => {
    writeFileSync(join(dir, "config.yaml"), config(round));
    expect((await runCli(["apply", "--yes"], dir)).code).toBe(0);
  }, 60_000);

  test(
    `SIGKILL at ${ITERATIONS} random points: never lost, at most one extra sandbox, then apply converges`,
    async () => {
      let landed = 0;
      let leftTwo = 0;
      for (let i = 0; landed < ITERATIONS && i < 3 * ITERATIONS; i++) {
        writeFileSync(join(dir, "config.yaml"), config(++round));
        const kill = await killApply(dir, round, Math.floor(random() * 1000), true);
        if (kill.landed) landed++;
        const { where } = kill;
        const after = criSandboxes(cri.local.socket, name).size;
        expect({ where, kept: after >= 1, atMostOneExtra: after <= 2 }).toEqual({
          where,
          kept: true,
          atMostOneExtra: true,
        });
        if (after === 2) leftTwo++;
        const apply = await runCli(["apply", "--yes"], dir);
        const stderr = apply.stderr.replace(/.*no longer runs: taking it over\n?/g, "");
        expect({ where, code: apply.code, stderr }).toEqual({ where, code: 0, stderr: "" });
        const settled = [...criSandboxes(cri.local.socket, name).values()];
        expect({ where, settled: settled.map((s) => [s.running, s.env.includes(`ROUND=${round}`)]) }).toEqual({
          where,
          settled: [[true, true]],
        });
        expect((await runCli(["plan"], dir)).code).toBe(0);
      }
      expect(landed).toBe(ITERATIONS);
      if (process.env["BERTH_REL_DEBUG"]) console.log(`kills that left two sandboxes of the name: ${leftTwo}`);
    },
    300_000,
  );
});

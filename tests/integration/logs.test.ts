/**
 * Container output through `berth logs NAME` and `ContainersResource.logs()`
 * on real engines: Docker (local engine) and containerd through CRI (local,
 * and on test host h1 through SSH): both streams, `--tail`, `--json`, the
 * output of an exited container, unknown names, and the CRI log directories
 * deleted by `berth destroy`.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BerthError } from "../../core/errors.ts";
import type { ContainersState } from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";
import { LOG_ROOT } from "../../runtimes/kubelet/pod-spec.ts";
import { loadRuntime } from "../../runtimes/registry.ts";
import { readStateFile } from "../../store/state-file.ts";
import { directTransport } from "../../transports/direct.ts";
import { runCli } from "../support/cli.ts";
import { loadTestEnv, testHost } from "../support/env.ts";
import { afterAll, beforeAll, describe, expect, test } from "../support/harness.ts";
import { h1ContainerdMissing, loadCriEnv } from "./kubelet-env.ts";

const env = loadTestEnv();
const cri = loadCriEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
const prefix = `bt-logs-${process.pid}`;
// err-1 goes first, well before the rest: the runtimes read the two streams apart, so close lines may swap.
const SCRIPT =
  "echo err-1 >&2; sleep 1; echo out-1; echo out-2; echo out-3; trap 'exit 0' TERM; while :; do sleep 1; done";
const DOCKER = `docker: { host: "unix://${env.local.socket}" }`;
const CRI_LOCAL = `kubelet: { address: "unix://${cri.local.socket}" }`;

/** The containers under test: config key -> host and runtime. */
const containers: Record<string, { host: string; runtime: string; networkMode: string }> = {
  docker: { host: "local", runtime: DOCKER, networkMode: "none" },
  cri: { host: "local", runtime: CRI_LOCAL, networkMode: "host" },
};
if (cri.h1 !== null) {
  containers["cri-h1"] = {
    host: "h1",
    runtime: `kubelet: { address: "unix://${cri.h1.socket}" }`,
    networkMode: "host",
  };
} else {
  h1ContainerdMissing("`berth logs` of a containerd container on h1 through SSH");
}
const names = Object.keys(containers);

function writeConfig(): void {
  writeFileSync(
    join(dir, "config.yaml"),
    [
      `ssh: { privateKeyPath: ${env.ssh.privateKeyPath}, knownHostsFile: ${env.ssh.knownHostsFile}, user: ${env.ssh.user} }`,
      `hosts: { local: { direct: {} }, h1: { ssh: { address: ${testHost(env, "h1").address} } } }`,
      "containers:",
      ...names.map((key) => {
        const c = containers[key] as (typeof containers)[string];
        return `  ${key}: { name: ${prefix}-${key}, host: ${c.host}, image: ${cri.image}, networkMode: ${c.networkMode}, ` +
          `entrypoint: [sh, -c], args: [${JSON.stringify(SCRIPT)}], runtime: { ${c.runtime} } }`;
      }),
    ].join("\n"),
  );
}

async function state(): Promise<ContainersState> {
  return (await readStateFile(join(dir, "state.yaml"))).state;
}

/** A resource over the state file, for the library calls. */
async function resource(): Promise<ContainersResource> {
  return new ContainersResource({ previousState: await state() }, {
    sshDefaults: { privateKeyPath: env.ssh.privateKeyPath, knownHostsFile: env.ssh.knownHostsFile },
  });
}

/** Waits until every container printed its last line. */
async function waitForOutput(): Promise<void> {
  const r = await resource();
  try {
    const deadline = Date.now() + 15_000;
    for (const name of names) {
      while (!(await r.logs(name)).stdout.includes("out-3")) {
        if (Date.now() > deadline) throw new Error(`container ${name} printed nothing within 15 s`);
        await new Promise((done) => setTimeout(done, 200));
      }
    }
  } finally {
    await r.close();
  }
}

beforeAll(async () => {
  writeConfig();
  const apply = await runCli(["apply", "--yes"], dir);
  if (apply.code !== 0) throw new Error(`berth apply failed: ${apply.stderr}`);
  await waitForOutput();
}, 120_000);

afterAll(async () => {
  await runCli(["destroy", "--yes"], dir);
  rmSync(dir, { recursive: true, force: true });
  // After a failure: the test hosts share this machine's disk, containerd's log directories are here.
  for (const name of names) rmSync(`${LOG_ROOT}/${prefix}-${name}`, { recursive: true, force: true });
}, 60_000);

describe("berth logs", () => {
  test("`berth logs NAME` prints stdout to stdout and stderr to stderr on every runtime", async () => {
    for (const name of names) {
      const run = await runCli(["logs", name], dir);
      expect({ name, code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
        name,
        code: 0,
        stdout: "out-1\nout-2\nout-3\n",
        stderr: "err-1\n",
      });
    }
  }, 60_000);

  test("`berth logs --tail N` keeps the last N lines; `--json` gives both streams as data", async () => {
    for (const name of names) {
      const tail = await runCli(["logs", name, "--tail", "2"], dir);
      expect({ name, stdout: tail.stdout, stderr: tail.stderr }).toEqual({
        name,
        stdout: "out-2\nout-3\n",
        stderr: "",
      });
      const json = await runCli(["--json", "logs", "-n", "3", name], dir);
      expect({ name, output: JSON.parse(json.stdout) as unknown }).toEqual({
        name,
        output: { formatVersion: 1, stdout: "out-1\nout-2\nout-3\n", stderr: "" },
      });
    }
    const bad = await runCli(["logs", "docker", "--tail", "many"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("whole number");
  }, 60_000);

  test("`berth logs NAME` of an unknown name exits 1 and suggests a close name", async () => {
    const run = await runCli(["logs", "dokcer"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No container "dokcer" in the state: did you mean "docker"?');
    expect(run.stderr).not.toContain("    at ");
  });

  test("`ContainersResource.logs()` reads the output of exited containers", async () => {
    const current = await state();
    const transport = directTransport();
    try {
      for (const name of names) {
        const hcc = current[name];
        if (hcc === undefined || containers[name]?.host !== "local") continue;
        const runtime = await loadRuntime(hcc.container.runtime ?? { docker: {} }, { transport, hostLabel: "local" });
        try {
          await runtime.stop(hcc.container.status?.id as string, { timeoutSeconds: 5 });
        } finally {
          await runtime.close();
        }
      }
    } finally {
      await transport.close();
    }
    const r = await resource();
    try {
      const observed = await r.checkCurrentState();
      for (const name of names) {
        if (containers[name]?.host !== "local") continue;
        expect({ name, status: observed[name]?.status?.status }).toEqual({ name, status: "exited" });
        expect({ name, logs: await r.logs(name) }).toEqual({
          name,
          logs: { stdout: "out-1\nout-2\nout-3\n", stderr: "err-1\n" },
        });
        expect(await r.logs(name, { tail: 1 })).toEqual({ stdout: "out-3\n", stderr: "" });
      }
    } finally {
      await r.close();
    }
  }, 60_000);

  test("`ContainersResource.logs()` says when a configured container was not created", async () => {
    const r = new ContainersResource({
      desiredState: {
        later: { container: { config: { name: `${prefix}-later`, image: cri.image } }, host: { directConfig: {} } },
      },
    });
    try {
      let error: unknown;
      await r.logs("later").catch((err: unknown) => (error = err));
      expect(error).toBeInstanceOf(BerthError);
      expect((error as BerthError).code).toBe("NOT_FOUND");
      expect((error as BerthError).message).toContain("not created yet");
    } finally {
      await r.close();
    }
  });

  test("`berth destroy` deletes the CRI containers' log directories, locally and through SSH", async () => {
    const cris = names.filter((name) => name !== "docker");
    expect(cris.filter((name) => existsSync(`${LOG_ROOT}/${prefix}-${name}`))).toEqual(cris);
    const destroy = await runCli(["destroy", "--yes"], dir);
    expect(destroy.code).toBe(0);
    expect(cris.filter((name) => existsSync(`${LOG_ROOT}/${prefix}-${name}`))).toEqual([]);
  }, 60_000);
});

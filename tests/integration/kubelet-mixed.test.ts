/**
 * One desired state mixing runtimes: Docker on test host h2 and containerd
 * (kubelet runtime) on h1, both through SSH, converged in one run.
 */
import { readFileSync, rmSync } from "node:fs";
import type { ContainersState, HostConfiguredContainer, RuntimeConfig, SSHConfig } from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { containerdView, dockerView } from "../support/engine-view.ts";
import { hostPath, loadTestEnv, testHost } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { h1ContainerdMissing, loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const env = loadTestEnv();
const prefix = `bt-kmixed-${process.pid}`;
const transport = directTransport();
const h1 = testHost(env, "h1");
const h2 = testHost(env, "h2");
const ssh = (address: string): SSHConfig => ({
  address,
  user: env.ssh.user,
  privateKeyPath: env.ssh.privateKeyPath,
  knownHostsFile: env.ssh.knownHostsFile,
});
const files = `${env.view}/${prefix}`;
// Never the local containerd instead: without h1's, the tests below say so (h1ContainerdMissing).
const h1Socket = cri.h1?.socket ?? "";
const kubeletConfig = { address: `unix://${h1Socket}` };

function hcc(name: string, runtime: RuntimeConfig, address: string, networkMode: string): HostConfiguredContainer {
  return {
    container: {
      config: {
        name: `${prefix}-${name}`,
        image: cri.image,
        entrypoint: ["sh", "-c"],
        args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
        networkMode,
      },
      runtime,
    },
    host: { sshConfig: ssh(address) },
    configFiles: { [`${files}/${name}.conf`]: `${name}\n` },
  };
}

if (cri.h1 === null) h1ContainerdMissing("containerd on h1 and Docker on h2 in one desired state");
else registerSuites();

function registerSuites(): void {
  const rawKubelet = kubeletRuntime(kubeletConfig, { transport, hostLabel: "h1" });
  const rawDocker = dockerRuntime({ host: `unix://${h2.dockerSocket}` }, { transport, hostLabel: "h2" });
  const views = { h1: containerdView(h1Socket), h2: dockerView(h2.dockerSocket) };

  afterAll(async () => {
    for (const c of await rawKubelet.list({ "berth.managed": "true" })) {
      if (c.name.startsWith(prefix)) await rawKubelet.remove(c.id, { force: true });
    }
    for (const c of await rawDocker.list({ "berth.managed": "true" })) {
      if (c.name.startsWith(prefix)) await rawDocker.remove(c.id, { force: true });
    }
    await rawKubelet.close();
    await rawDocker.close();
    await transport.close();
    for (const host of [h1, h2]) rmSync(hostPath(env, host, files), { recursive: true, force: true });
  });

  describe("ContainersResource with two runtimes", () => {
    test(
      "a desired state with Docker on one host and containerd on another converges, then plans nothing",
      async () => {
        const desired: ContainersState = {
          api: hcc("api", { kubelet: kubeletConfig }, h1.address, "host"),
          db: hcc("db", { docker: {} }, h2.address, "none"),
        };
        let state: ContainersState = {};
        for (const round of [1, 2]) {
          const resource = new ContainersResource({ previousState: state, desiredState: desired });
          try {
            await resource.checkCurrentState();
            const plan = resource.plan();
            expect(plan.summary).toEqual(round === 1 ? { create: 2 } : {});
            const result = await resource.apply();
            expect(result.failed).toBe(0);
            state = result.state;
          } finally {
            await resource.close();
          }
        }
        expect((await views.h1.inspect(state.api?.container.status?.id as string))?.status).toBe("running");
        expect((await views.h2.inspect(state.db?.container.status?.id as string))?.status).toBe("running");
        // Each config file is on its own host only.
        expect(readFileSync(hostPath(env, h1, `${files}/api.conf`), "utf8")).toBe("api\n");
        expect(readFileSync(hostPath(env, h2, `${files}/db.conf`), "utf8")).toBe("db\n");
        expect(() => readFileSync(hostPath(env, h2, `${files}/api.conf`))).toThrow(/ENOENT/);
        expect(() => readFileSync(hostPath(env, h1, `${files}/db.conf`))).toThrow(/ENOENT/);
        const destroy = new ContainersResource({ previousState: state, desiredState: {} });
        try {
          await destroy.checkCurrentState();
          expect(destroy.plan().summary).toEqual({ remove: 2 });
          expect((await destroy.apply()).failed).toBe(0);
        } finally {
          await destroy.close();
        }
      },
      90_000,
    );
  });

  describe("berth CLI with two runtimes", () => {
    test(
      "a config.yaml naming Docker for one container and containerd for another converges and plans nothing after",
      async () => {
        const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
        const { tmpdir } = await import("node:os");
        const { join } = await import("node:path");
        const { runCli } = await import("../support/cli.ts");
        const work = mkdtempSync(join(tmpdir(), "berth-kmixed-cli-"));
        try {
          writeFileSync(
            join(work, "config.yaml"),
            [
              `ssh: { privateKeyPath: ${env.ssh.privateKeyPath}, knownHostsFile: ${env.ssh.knownHostsFile} }`,
              `hosts: { h1: { ssh: { address: ${h1.address} } }, h2: { ssh: { address: ${h2.address} } } }`,
              "containers:",
              `  cli-api: { name: ${prefix}-cli-api, host: h1, image: ${cri.image}, networkMode: host, args: [sleep, "100000"], runtime: { kubelet: { address: "${kubeletConfig.address}" } } }`,
              `  cli-db: { name: ${prefix}-cli-db, host: h2, image: ${cri.image}, networkMode: none, init: true, args: [sleep, "100000"] }`,
            ].join("\n"),
          );
          const apply = await runCli(["apply", "--yes"], work);
          expect(apply.stderr).toBe("");
          expect(apply.code).toBe(0);
          expect(apply.stdout).toContain("2 created");
          expect((await runCli(["plan"], work)).code).toBe(0);
          const destroy = await runCli(["destroy", "--yes"], work);
          expect(destroy.code).toBe(0);
          expect(destroy.stdout).toContain("2 removed");
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
      120_000,
    );
  });
}

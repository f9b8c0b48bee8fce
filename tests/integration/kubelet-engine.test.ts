/**
 * The engine scenarios against containerd through the kubelet runtime:
 * locally (direct transport), and through test host h1's SSH server to the
 * containerd running in h1's network and mount namespaces. Checks go through
 * `ctr` and the CRI plugin's status files; h1's files are read from h1's view.
 */
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { containerdView } from "../support/engine-view.ts";
import { afterAll } from "../support/harness.ts";
import { hostPath, loadTestEnv, testHost } from "../support/env.ts";
import { engineScenarios } from "./engine-scenarios.ts";
import { h1ContainerdMissing, loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const transport = directTransport();
const localRuntime = { kubelet: { address: `unix://${cri.local.socket}` } };
const raw = kubeletRuntime(localRuntime.kubelet, { transport, hostLabel: "local" });
afterAll(async () => {
  await raw.close();
  await transport.close();
});

engineScenarios({
  title: "containerd through CRI",
  prefix: `bt-kengine-${process.pid}`,
  image: cri.image,
  runtime: localRuntime,
  host: { directConfig: {} },
  raw,
  view: containerdView(cri.local.socket),
  base: { networkMode: "host" },
});

if (cri.h1 !== null) {
  const env = loadTestEnv();
  const h1 = testHost(env, "h1");
  const h1Runtime = { kubelet: { address: `unix://${cri.h1.socket}` } };
  // The socket is on the shared file system: berth's view goes through SSH, the test acts on it directly.
  const rawH1 = kubeletRuntime(h1Runtime.kubelet, { transport, hostLabel: "h1" });
  afterAll(() => rawH1.close());
  engineScenarios({
    title: "containerd through CRI over SSH (h1)",
    prefix: `bt-kengine-ssh-${process.pid}`,
    image: cri.image,
    runtime: h1Runtime,
    host: {
      sshConfig: {
        address: h1.address,
        port: h1.port,
        user: env.ssh.user,
        privateKeyPath: env.ssh.privateKeyPath,
        knownHostsFile: env.ssh.knownHostsFile,
      },
    },
    raw: rawH1,
    view: containerdView(cri.h1.socket),
    files: { dir: `${env.view}/kengine-ssh-${process.pid}`, local: (path) => hostPath(env, h1, path) },
    base: { networkMode: "host" },
  });
} else {
  h1ContainerdMissing("ContainersResource on containerd through CRI over SSH (h1)");
}

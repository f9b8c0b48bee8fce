/**
 * Smoke check of the kubelet runtime on any JS runtime, also as a compiled
 * binary: against the private containerd of tests/env/containerd.sh
 * (locally, and through h1's SSH server when the fleet is up), create a
 * helper-like container, start it, write a file with tar over the exec
 * stream, read it back, remove it; print `OK`.
 */
import { readFileSync } from "node:fs";
import type { Transport } from "../../transports/transport.ts";
import { kubeletRuntime } from "../../runtimes/kubelet/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { sshTransport } from "../../transports/ssh/mod.ts";
import { loadTestEnv } from "../support/env.ts";

const dir = process.env["BERTH_CRI_DIR"] ?? "/tmp/berth-cri";
const cri = JSON.parse(readFileSync(`${dir}/env.json`, "utf8")) as {
  image: string;
  local: { socket: string };
  h1: { socket: string } | null;
};

async function roundTrip(transport: Transport, socket: string, where: string): Promise<void> {
  const runtime = kubeletRuntime({ address: `unix://${socket}` }, { transport, hostLabel: where });
  const name = `bk-smoke-${where}-${process.pid}`;
  const signal = AbortSignal.timeout(60_000);
  let id: string | undefined;
  try {
    await runtime.ensureImage(cri.image, { signal });
    id = await runtime.create({ name, image: cri.image, entrypoint: ["sleep"], args: ["600"] }, {
      labels: { "berth.smoke": "true" },
      signal,
    });
    await runtime.start(id, { signal });
    const content = new Uint8Array(256).map((_, i) => i);
    await runtime.writeFiles(id, [{ path: "/tmp/smoke/bytes", content, mode: 0o640 }], { signal });
    const [read] = await runtime.readFiles(id, ["/tmp/smoke/bytes"], { signal });
    if (
      read === undefined || Buffer.compare(Buffer.from(read.content), Buffer.from(content)) !== 0 || read.mode !== 0o640
    ) {
      throw new Error(`${where}: the file did not round-trip`);
    }
  } finally {
    if (id !== undefined) await runtime.remove(id, { force: true, signal: AbortSignal.timeout(30_000) });
    await runtime.close();
    await transport.close();
  }
}

await roundTrip(directTransport(), cri.local.socket, "local");
if (cri.h1 !== null) {
  const env = loadTestEnv();
  const h1 = env.hosts.find((h) => h.name === "h1");
  if (h1 === undefined) throw new Error("no test host h1 in env.json");
  const ssh = sshTransport({
    address: h1.address,
    port: h1.port,
    user: env.ssh.user,
    privateKeyPath: env.ssh.privateKeyPath,
    knownHostsFile: env.ssh.knownHostsFile,
  }, { env: {} });
  await roundTrip(ssh, cri.h1.socket, "h1");
} else if (process.env["CI"] === "true") {
  throw new Error(`h1's containerd is not up (no "h1" in ${dir}/env.json): the SSH round trip cannot run`);
} else {
  // Not silent (on stderr, so stdout stays the OK the smoke scripts check): the round trip through h1 did not run.
  console.error("kubelet smoke: SKIP h1: its containerd is not up (tests/env/up.sh, then tests/env/containerd.sh up)");
}
console.log("OK");

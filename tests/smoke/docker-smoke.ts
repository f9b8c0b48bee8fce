/**
 * Smoke test of the Docker plugin on whatever runtime runs it (Deno, a
 * compiled binary): create, write and read a file, start, remove one
 * container. The engine socket comes from argv[2], else
 * BERTH_TEST_DOCKER_SOCKET, else the test environment's local engine.
 * Prints OK and exits 0 on success.
 */
import process from "node:process";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { loadTestEnv } from "../support/env.ts";

const socket = process.argv[2] || process.env["BERTH_TEST_DOCKER_SOCKET"] || loadTestEnv().local.socket;
const image = process.env["BERTH_TEST_IMAGE"] || "berth-test:latest";
const transport = directTransport();
const docker = dockerRuntime({ host: `unix://${socket}` }, { transport, hostLabel: "smoke" });
const name = `berth-smoke-${Date.now().toString(36)}-${process.pid}`;
let id: string | undefined;
try {
  const signal = AbortSignal.timeout(60_000);
  await docker.ensureImage(image, { signal });
  id = await docker.create({ name, image, init: true, networkMode: "none" }, {
    labels: { "berth.smoke": "true" },
    restartPolicy: "no",
    signal,
  });
  const content = new Uint8Array(256).map((_, i) => i);
  await docker.writeFiles(id, [{ path: "/etc/smoke/bytes.bin", content, mode: 0o640 }], { signal });
  await docker.start(id, { signal });
  const [read] = await docker.readFiles(id, ["/etc/smoke/bytes.bin"], { signal });
  if (
    read === undefined || read.mode !== 0o640 || !read.content.every((b, i) => b === i) || read.content.length !== 256
  ) {
    throw new Error(
      `file read back differs: ${JSON.stringify(read && { mode: read.mode, length: read.content.length })}`,
    );
  }
  if ((await docker.status(id, { signal }))?.status !== "running") throw new Error("container is not running");
  await docker.remove(id, { force: true, signal });
  id = undefined;
  console.log("OK");
} finally {
  if (id !== undefined) await docker.remove(id, { force: true }).catch(() => {});
  await docker.close();
  await transport.close();
}

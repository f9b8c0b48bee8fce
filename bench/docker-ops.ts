/**
 * Times one container's create + start + inspect + remove(force) through
 * the Docker plugin against the same four raw requests sent with
 * `curl --unix-socket` (one process per request, sequentially), N times
 * each in the same run, and prints medians.
 *
 * Usage: node --import tsx bench/docker-ops.ts [ENGINE_SOCKET] [N]
 * (socket default: $BERTH_TEST_DOCKER_SOCKET, else the test environment's local engine).
 */
import { execFile } from "node:child_process";
import process from "node:process";
import { dockerRuntime } from "../runtimes/docker/mod.ts";
import { directTransport } from "../transports/direct.ts";
import { loadTestEnv } from "../tests/support/env.ts";

const socket = process.argv[2] || process.env["BERTH_TEST_DOCKER_SOCKET"] || loadTestEnv().local.socket;
const n = Number(process.argv[3] ?? 20);
const image = process.env["BERTH_TEST_IMAGE"] || "berth-test:latest";
const OPS = ["create", "start", "inspect", "remove"] as const;
type Timings = Record<(typeof OPS)[number] | "total", number[]>;
const emptyTimings = (): Timings => ({ create: [], start: [], inspect: [], remove: [], total: [] });

function curl(method: string, path: string, body?: string): Promise<string> {
  const args = ["-sS", "--fail-with-body", "--unix-socket", socket, "-X", method, `http://docker/v1.41${path}`];
  if (body !== undefined) args.push("-H", "Content-Type: application/json", "-d", body);
  return new Promise((resolve, reject) => {
    execFile(
      "curl",
      args,
      (
        err,
        stdout,
        stderr,
      ) => (err ? reject(new Error(`curl ${method} ${path}: ${stderr || stdout}`)) : resolve(stdout)),
    );
  });
}

async function timed<T>(into: number[], fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  into.push(performance.now() - start);
  return result;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const transport = directTransport();
const docker = dockerRuntime({ host: `unix://${socket}` }, { transport, hostLabel: "bench" });
const plugin = emptyTimings();
const raw = emptyTimings();
const prefix = `berth-bench-${process.pid}`;
try {
  await docker.ensureImage(image);
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-p${i}`;
    const t0 = performance.now();
    const id = await timed(
      plugin.create,
      () => docker.create({ name, image, init: true, networkMode: "none" }, { restartPolicy: "no" }),
    );
    await timed(plugin.start, () => docker.start(id));
    await timed(plugin.inspect, () => docker.inspect(id));
    await timed(plugin.remove, () => docker.remove(id, { force: true }));
    plugin.total.push(performance.now() - t0);
  }
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-c${i}`;
    const body = JSON.stringify({
      Image: image,
      HostConfig: { Init: true, NetworkMode: "none", RestartPolicy: { Name: "no" } },
    });
    const t0 = performance.now();
    const created = await timed(raw.create, () => curl("POST", `/containers/create?name=${name}`, body));
    const id = (JSON.parse(created) as { Id: string }).Id;
    await timed(raw.start, () => curl("POST", `/containers/${id}/start`));
    await timed(raw.inspect, () => curl("GET", `/containers/${id}/json`));
    await timed(raw.remove, () => curl("DELETE", `/containers/${id}?force=1`));
    raw.total.push(performance.now() - t0);
  }
} finally {
  await docker.close();
  await transport.close();
}

const rows = [...OPS, "total"] as const;
console.log(`Docker plugin vs curl --unix-socket, N=${n}, medians in ms (engine ${socket})`);
console.log("op        plugin      curl   plugin/curl");
for (const op of rows) {
  const p = median(plugin[op]);
  const c = median(raw[op]);
  console.log(
    `${op.padEnd(8)} ${p.toFixed(1).padStart(7)} ${c.toFixed(1).padStart(9)} ${(p / c).toFixed(2).padStart(13)}`,
  );
}

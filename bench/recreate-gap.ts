/**
 * How long a recreate of a healthy container leaves NO container serving,
 * start-first against stop-first, on the test fleet's local Docker engine
 * (through the library, in process). Two measures of each recreate:
 * - from the engine's event log: the time from the old container's `die`
 *   to the new one's `start` (0 when the new one started first);
 * - from outside: a busybox httpd on a loopback port of the host network,
 *   polled every few milliseconds during the apply; the longest stretch in
 *   which no answer came (stop-first only: two servers cannot hold one
 *   port, so start-first has no host port to poll).
 *
 *   bash tests/env/up.sh && bun bench/recreate-gap.ts [--runs 5]
 *
 * Prints a Markdown table (median, min-max, milliseconds).
 *
 * @module
 */
import { connect } from "node:net";
import { parseArgs } from "node:util";
import { ContainersResource } from "../engine/containers.ts";
import type { ContainerConfig, ContainersState } from "../core/model.ts";
import { dockerLocal, loadTestEnv } from "../tests/support/env.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(values.runs);
const env = loadTestEnv();
const runtime = { docker: { host: `unix://${env.local.socket}` } };
const prefix = `bench-gap-${process.pid}`;
const PORT = 20000 + (process.pid % 20000);

function desired(name: string, round: number, extra: Partial<ContainerConfig>): ContainersState {
  return {
    app: {
      container: { config: { name, image: env.image, init: true, env: { ROUND: String(round) }, ...extra }, runtime },
      host: { directConfig: {} },
    },
  };
}

async function apply(state: ContainersState, want: ContainersState): Promise<ContainersState> {
  const resource = new ContainersResource({ previousState: state, desiredState: want });
  try {
    await resource.checkCurrentState();
    const result = await resource.apply();
    if (result.failed > 0) throw new Error(result.results.map((r) => r.error?.message).join("\n"));
    return result.state;
  } finally {
    await resource.close();
  }
}

/** Nanosecond times of `start` and `die` per container id, from the engine's log since `since` (ms). */
async function events(name: string, since: number): Promise<Map<string, Record<string, number>>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`berth.name=${name}`], type: ["container"] }));
  const until = Math.ceil(Date.now() / 1000) + 1;
  const { body } = await dockerLocal(`/events?since=${Math.floor(since / 1000) - 1}&until=${until}&filters=${filters}`);
  const byId = new Map<string, Record<string, number>>();
  for (const line of String(typeof body === "string" ? body : JSON.stringify(body)).split("\n")) {
    if (line.trim() === "") continue;
    const e = JSON.parse(line) as { id: string; Action: string; timeNano: number };
    const seen = byId.get(e.id) ?? {};
    seen[e.Action] ??= e.timeNano;
    byId.set(e.id, seen);
  }
  return byId;
}

/** True when the port answers an HTTP request within 200 ms. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
    socket.on("data", (b: Buffer) => done(b.toString("utf8").startsWith("HTTP/")));
  });
}

/** Polls the port until `stop` resolves; the longest stretch without an answer, ms. */
async function longestSilence(port: number, stop: Promise<unknown>): Promise<number> {
  let ended = false;
  void stop.finally(() => (ended = true));
  let lastOk = performance.now();
  let longest = 0;
  while (!ended) {
    const ok = await answers(port);
    const now = performance.now();
    if (ok) {
      longest = Math.max(longest, now - lastOk);
      lastOk = now;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return longest;
}

async function measure(order: "start-first" | "stop-first"): Promise<{ events: number[]; port: number[] }> {
  const name = `${prefix}-${order}`;
  // Start-first: no network needed; stop-first: an HTTP server on a loopback port of the host network, polled.
  const extra: Partial<ContainerConfig> = order === "start-first"
    ? { networkMode: "none", args: ["sleep", "100000"], recreateOrder: order }
    : {
      networkMode: "host",
      args: ["busybox", "httpd", "-f", "-p", `127.0.0.1:${PORT}`, "-h", "/"],
      recreateOrder: order,
    };
  let state = await apply({}, desired(name, 0, extra));
  const gaps: number[] = [];
  const silences: number[] = [];
  for (let round = 1; round <= RUNS; round++) {
    const oldId = state["app"]?.container.status?.id as string;
    if (order === "stop-first") {
      for (let i = 0; i < 100 && !(await answers(PORT)); i++) await new Promise((r) => setTimeout(r, 20));
    }
    const since = Date.now();
    const applying = apply(state, desired(name, round, extra));
    const silence = order === "stop-first" ? longestSilence(PORT, applying) : Promise.resolve(0);
    state = await applying;
    // The poll ends with the apply: the last stretch (new one up, not yet polled) is closed by one more answer.
    if (order === "stop-first") {
      for (let i = 0; i < 100 && !(await answers(PORT)); i++) await new Promise((r) => setTimeout(r, 5));
      silences.push(await silence);
    }
    const newId = state["app"]?.container.status?.id as string;
    const log = await events(name, since);
    const died = log.get(oldId)?.["die"];
    const started = log.get(newId)?.["start"];
    if (died === undefined || started === undefined) throw new Error(`no die/start events for ${order} round ${round}`);
    gaps.push(Math.max(0, (started - died) / 1e6));
  }
  await apply(state, {});
  return { events: gaps, port: silences };
}

function stats(ms: number[]): string {
  if (ms.length === 0) return "-";
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  return `${median.toFixed(0)} (${(sorted[0] as number).toFixed(0)}-${(sorted.at(-1) as number).toFixed(0)})`;
}

const start = await measure("start-first");
const stop = await measure("stop-first");
console.log(`Recreate of a healthy container, ${RUNS} runs each, median (min-max) ms with no container serving`);
console.log("| order | engine events: old die -> new start | loopback HTTP: longest silence |");
console.log("| --- | --- | --- |");
console.log(`| start-first | ${stats(start.events)} | - |`);
console.log(`| stop-first | ${stats(stop.events)} | ${stats(stop.port)} |`);

/**
 * What `berth apply` shows while it works, on a real engine (the fleet's local dockerd):
 * - `--json`: the NDJSON stream (plan, begin, done, summary), every line valid against
 *   schema/output.schema.json; the container checked through the engine's own API.
 * - on a terminal (a real pseudo-terminal, util-linux `script`): the change's begin line, a status
 *   line with the image pull's progress while the pull is still running, the end line with its time
 *   and the summary. The image is made for this run (a random 4 MB layer on the fleet's image,
 *   pushed to the loopback registry, then removed here), and pulled through a proxy in this process
 *   that slows the registry's answers to about 1 MB/s and notes when it forwarded its last byte.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerLocal, loadTestEnv, removeLocalContainers } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { inlineRefs, schemaErrors } from "../support/json-schema.ts";
import { runCli } from "../support/cli.ts";
import { ROOT, tsCommand } from "../support/ts-script.ts";

const env = loadTestEnv();
const prefix = `bt-progress-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "berth-progress-"));
const SCHEMA = JSON.parse(readFileSync(join(ROOT, "schema", "output.schema.json"), "utf8"));
const lineErrors = (line: unknown) => schemaErrors(inlineRefs({ $ref: "#/$defs/applyStreamLine" }, SCHEMA), line);
const repo = `berth/progress-${process.pid}`;
const images: string[] = [];
let proxy: Server | undefined;

function config(name: string, image: string): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  docker: { host: "unix://${env.local.socket}" }`,
    "containers:",
    `  ${name}:`,
    `    name: ${prefix}-${name}`,
    "    host: local",
    `    image: ${image}`,
    "    init: true",
    "    networkMode: none",
    `    args: [sleep, "100000"]`,
    "",
  ].join("\n");
}

/** The engine's own view of a container's state (raw HTTP), or undefined. */
const engineState = async (name: string) => (await dockerView(env.local.socket).inspect(`${prefix}-${name}`))?.status;

/** An image no engine has: the fleet's image plus a layer of 4 MB of random bytes, in the loopback registry. */
async function uniqueImage(): Promise<void> {
  const created = await dockerLocal("/containers/create", {
    method: "POST",
    body: { Image: env.image, Cmd: ["sh", "-c", "head -c 4000000 /dev/urandom > /blob"], NetworkDisabled: true },
  });
  const id = (created.body as { Id: string }).Id;
  try {
    await dockerLocal(`/containers/${id}/start`, { method: "POST" });
    await dockerLocal(`/containers/${id}/wait`, { method: "POST" });
    const ref = `${env.registry.address}/${repo}`;
    const commit = await dockerLocal(`/commit?container=${id}&repo=${encodeURIComponent(ref)}&tag=latest`, {
      method: "POST",
      body: {},
    });
    expect(commit.status).toBe(201);
    const auth = Buffer.from("{}").toString("base64");
    const push = await dockerLocal(`/images/${encodeURIComponent(ref)}/push?tag=latest`, {
      method: "POST",
      headers: { "X-Registry-Auth": auth },
    });
    expect(JSON.stringify(push.body)).not.toContain("error");
    // Gone from this engine again: the apply below has to download the random layer.
    await dockerLocal(`/images/${encodeURIComponent(`${ref}:latest`)}?force=1`, { method: "DELETE" });
  } finally {
    await dockerLocal(`/containers/${id}?force=1`, { method: "DELETE" });
  }
}

/** A TCP proxy to the registry that sends its answers at about `bytesPerSecond`; `lastByteAt()` is when it last sent. */
async function slowProxy(bytesPerSecond: number): Promise<{ port: number; lastByteAt: () => number }> {
  let last = 0;
  const [host, port] = env.registry.address.split(":") as [string, string];
  proxy = createServer((client) => {
    const upstream = createConnection(Number(port), host);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      upstream.pause();
      client.write(chunk, () => {
        last = performance.now();
        setTimeout(() => upstream.resume(), (chunk.length / bytesPerSecond) * 1000);
      });
    });
    upstream.on("end", () => client.end());
    const close = () => (client.destroy(), upstream.destroy());
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
  });
  await new Promise<void>((resolve) => (proxy as Server).listen(0, "127.0.0.1", resolve));
  return { port: (proxy.address() as { port: number }).port, lastByteAt: () => last };
}

afterAll(async () => {
  proxy?.close();
  await removeLocalContainers({ name: [prefix] });
  for (const image of images) await dockerLocal(`/images/${encodeURIComponent(image)}?force=1`, { method: "DELETE" });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("apply progress on a real engine", () => {
  test("apply --json and destroy --json stream NDJSON lines that match the schema, as the engine shows", async () => {
    writeFileSync(join(dir, "json.yaml"), config("json", env.image));
    const args = ["-c", "json.yaml", "-s", "json-state.yaml", "--json"];
    const apply = await runCli([...args, "apply", "--yes"], dir);
    expect({ code: apply.code, stderr: apply.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = apply.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    for (const line of lines) expect(lineErrors(line)).toEqual([]);
    // The health gate's events (engine/gate.ts) come through as they are, with their own field.
    expect(lines.map((l) => [l.type, l.name ?? ""])).toEqual([
      ["plan", ""],
      ["begin", "json"],
      ["gate-waiting", "json"],
      ["gate-passed", "json"],
      ["done", "json"],
      ["summary", ""],
    ]);
    expect(typeof lines[2].gate).toBe("string");
    expect(lines[4]).toMatchObject({ action: "create", host: "local", hostName: "local" });
    expect(lines[4].durationMs).toBeGreaterThan(0);
    const summary = lines[5];
    expect([summary.ok, summary.result.failed, summary.result.results.map((r: { name: string }) => r.name)]).toEqual([
      true,
      0,
      ["json"],
    ]);
    expect(await engineState("json")).toBe("running");

    const destroy = await runCli([...args, "destroy", "--yes"], dir);
    expect(destroy.code).toBe(0);
    const removed = destroy.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    for (const line of removed) expect(lineErrors(line)).toEqual([]);
    expect(removed.map((l) => `${l.type} ${l.action ?? ""}`)).toEqual([
      "plan ",
      "begin remove",
      "done remove",
      "summary ",
    ]);
    expect(await engineState("json")).toBeUndefined();
  }, 60_000);

  test(
    "on a terminal, the pull's progress shows while the image is still downloading, before the change begins, then its time",
    async () => {
      await uniqueImage();
      const slow = await slowProxy(1_000_000);
      const image = `127.0.0.1:${slow.port}/${repo}:latest`;
      images.push(image, `${env.registry.address}/${repo}:latest`);
      writeFileSync(join(dir, "tty.yaml"), config("tty", image));
      const [runtime, cliArgs] = tsCommand(join(ROOT, "cli.ts"));
      const command = [runtime, ...cliArgs, "-c", "tty.yaml", "-s", "tty-state.yaml", "apply", "--yes"]
        .map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
      const childEnv: Record<string, string | undefined> = { ...process.env };
      delete childEnv["NO_COLOR"];
      const child = spawn("script", ["-qefc", command, "/dev/null"], { cwd: dir, env: childEnv, stdio: "pipe" });
      child.stdin.end();
      let out = "";
      let progressAt: number | undefined;
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (progressAt === undefined && /pulling \d+\.\d of \d+\.\d MB downloaded: 127\.0\.0\.1/.test(out)) {
          progressAt = performance.now();
        }
      });
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      // deno-lint-ignore no-control-regex -- the terminal's escape sequences are what is stripped
      const text = out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
      expect({ code, text }).toEqual({ code: 0, text });
      expect({ progressAt: progressAt !== undefined, out }).toEqual({ progressAt: true, out });
      // Shown while the proxy was still sending the image, a good while before its last byte.
      expect(slow.lastByteAt() - (progressAt as number)).toBeGreaterThan(500);
      // Images are pulled first, before the change begins (nothing is stopped before its image is there).
      expect(text).toContain("tty create on local ...");
      expect(text.indexOf("  pulling ")).toBeLessThan(text.indexOf("tty create on local ..."));
      expect(text).toContain("\r"); // the status line is redrawn in place
      expect(text).toMatch(/\+ tty created on local \((\d+\.\d)s\)/);
      expect(text).toMatch(/1 created in \d+\.\ds\./);
      expect(await engineState("tty")).toBe("running");
    },
    90_000,
  );
});

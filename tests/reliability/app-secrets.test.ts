/**
 * Application secrets (issue 11) never at rest in berth's files or output:
 * secrets in env (`${env:}`, `secretEnv:`), in config files (`${env:}`
 * inside, `${file:}`, `secret: true`) and in registry credentials, used for
 * real on both runtimes (Docker and containerd through CRI). Every command
 * is run, failures included, with and without --json and -v; then every file
 * berth wrote, everything it printed, the Docker labels and the CRI sandbox
 * annotations (read with `ctr`, not berth's client) are searched for every
 * secret as written, base64-encoded and JSON-escaped. Each distinct output
 * or file is checked once per secret form, and counted once.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCriEnv } from "../integration/kubelet-env.ts";
import { criClient } from "../../runtimes/kubelet/cri-client.ts";
import { grpcClient } from "../../runtimes/kubelet/grpc.ts";
import { READER_LABEL } from "../../runtimes/kubelet/logs.ts";
import { podSpec } from "../../runtimes/kubelet/pod-spec.ts";
import { directTransport } from "../../transports/direct.ts";
import { runCli } from "../support/cli.ts";
import { dockerLocal, loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { removeByPrefix } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

const env = loadTestEnv();
const cri = loadCriEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-app-secrets-"));
const prefix = `sec11-${process.pid}`;
const token = randomBytes(6).toString("hex");
// One with characters JSON escapes, so its escaped form differs from the raw one.
const db = `S3c-db-${token}"q\\x`;
const apiToken = `S3c-tok-${token}`;
const fileSecret = `S3c-file-${token}`;
const inlineSecret = `S3c-inline-${token}`;
const rotated = `S3c-rot-${token}`;
const bareNumber = `9${parseInt(token, 16) % 1_000_000_000}`;

const SECRETS: Record<string, string> = {
  "env ${env:} value": db,
  "secretEnv value": apiToken,
  "${file:} content": fileSecret,
  "secret: true file": inlineSecret,
  "rotated env value": rotated,
  "registry password": env.registry.password,
  "bare-number secret": bareNumber,
  "value set by hand on the host": `set-by-hand-${token}`,
};

/** Every form a secret could leak in. */
function forms(secret: string): Array<[string, string]> {
  return [
    ["raw", secret],
    ["base64", Buffer.from(secret).toString("base64")],
    ["JSON-escaped", JSON.stringify(secret).slice(1, -1)],
  ];
}

// ${file:} content: a key-like file next to the config.
writeFileSync(join(dir, "app.pem"), `-----BEGIN KEY-----\n${fileSecret}\n-----END KEY-----\n`);
const INPUTS = new Set(["config.yaml", "app.pem"]);

function config(extra = ""): string {
  const auth =
    `registryAuth: { "${env.registry.authAddress}": { username: ${env.registry.username}, password: "\${env:REG_PW}" } }`;
  const common = `image: "${env.registry.authImage}"
    args: [sleep, "100000"]
    env: { DB_PASSWORD: "\${env:APP_DB_PW}", MODE: plain }
    secretEnv: { API_TOKEN: "${apiToken}" }`;
  const files = (name: string) =>
    `configFiles:
      /tmp/${prefix}-${name}/app.conf: "password=\${env:APP_DB_PW}\\n"
      /tmp/${prefix}-${name}/tls.pem: "\${file:app.pem}"
      /tmp/${prefix}-${name}/motd: { content: "${inlineSecret}", secret: true }
      /tmp/${prefix}-${name}/plain.conf: "level=info\\n"`;
  return `hosts:
  local: { direct: {} }
containers:
  dk:
    host: local
    name: ${prefix}-dk
    ${common}
    ${files("dk")}
    runtime: { docker: { host: "unix://${env.local.socket}", ${auth} } }
  cr:
    host: local
    name: ${prefix}-cr
    ${common}
    ${files("cr")}
    runtime: { kubelet: { address: "unix://${cri.local.socket}", configImage: "${cri.image}", ${auth} } }
${extra}`;
}

let ENV: Record<string, string> = { APP_DB_PW: db, REG_PW: env.registry.password };
const outputs: Array<{ what: string; text: string }> = [];
/** Files berth wrote, by name, with the content last seen (checked once each per distinct content). */
const written = new Map<string, Set<string>>();

function collectFiles(): void {
  for (const name of readdirSync(dir)) {
    if (INPUTS.has(name)) continue;
    const text = readFileSync(join(dir, name), "utf8");
    const seen = written.get(name) ?? new Set<string>();
    seen.add(text);
    written.set(name, seen);
  }
}

async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await runCli(args, dir, { ...ENV, ...extraEnv });
  outputs.push({ what: `berth ${args.join(" ")} (stdout)`, text: r.stdout }, {
    what: `berth ${args.join(" ")} (stderr)`,
    text: r.stderr,
  });
  collectFiles();
  return { code: r.code, out: r.stdout + r.stderr };
}

/** Labels of every container of this test on the local Docker engine, as the engine reports them. */
async function dockerLabels(): Promise<string> {
  const filters = encodeURIComponent(JSON.stringify({ name: [prefix] }));
  const { body } = await dockerLocal(`/containers/json?all=1&filters=${filters}`);
  const list = body as Array<{ Id: string }>;
  const inspected = await Promise.all(list.map((c) => dockerLocal(`/containers/${c.Id}/json`)));
  return JSON.stringify(inspected.map((r) => (r.body as { Config: { Labels: unknown } }).Config.Labels));
}

/** Annotations and labels of this test's CRI sandboxes, decoded from what containerd stores (via ctr). */
function criSandboxMetadata(): string {
  const ctr = (...args: string[]) =>
    execFileSync("ctr", ["-a", cri.local.socket, "-n", "k8s.io", "containers", ...args], {
      encoding: "utf8",
      timeout: 30_000,
    });
  const ids = ctr("ls", "-q").split("\n").filter((id) => id !== "");
  const texts: string[] = [];
  for (const id of ids) {
    const info = JSON.parse(ctr("info", id)) as {
      Labels?: Record<string, string>;
      Extensions?: Record<string, { value?: string }>;
      Spec?: { annotations?: Record<string, string> };
    };
    const extensions = Object.values(info.Extensions ?? {}).map((e) => Buffer.from(e.value ?? "", "base64").toString());
    // Sandboxes only: the app container's own OCI spec legitimately holds its env.
    if (!extensions.some((e) => e.includes(`${prefix}-cr`)) || info.Labels?.["io.cri-containerd.kind"] !== "sandbox") {
      continue;
    }
    texts.push(JSON.stringify(info.Labels), JSON.stringify(info.Spec?.annotations ?? {}), ...extensions);
  }
  return texts.join("\n");
}

/** The exit code, with the output in the failure message. */
function expectCode(r: { code: number; out: string }, code: number): void {
  expect(r.code === code ? "" : `exit ${r.code}:\n${r.out}`).toBe("");
}

/** The env of this test's CRI app container, from its OCI spec as containerd keeps it (via ctr). */
function criContainerEnv(): string[] {
  const ctr = (...args: string[]) =>
    execFileSync("ctr", ["-a", cri.local.socket, "-n", "k8s.io", "containers", ...args], {
      encoding: "utf8",
      timeout: 30_000,
    });
  for (const id of ctr("ls", "-q").split("\n").filter((i) => i !== "")) {
    const info = JSON.parse(ctr("info", id)) as {
      Labels?: Record<string, string>;
      Spec?: { process?: { env?: string[] } };
    };
    if (
      info.Labels?.["io.cri-containerd.kind"] === "container" &&
      info.Labels["berth.name"] === `${prefix}-cr`
    ) return info.Spec?.process?.env ?? [];
  }
  return [];
}

afterAll(async () => {
  await run(["destroy", "--yes"]).catch(() => undefined);
  await removeByPrefix(env.local.socket, prefix);
  rmSync(dir, { recursive: true, force: true });
  for (const name of ["dk", "cr"]) rmSync(`/tmp/${prefix}-${name}`, { recursive: true, force: true });
  saveTally(import.meta.url);
}, 120_000);

describe("application secrets (issue 11)", () => {
  test("every command on both runtimes works with secrets in env, config files and registry credentials", async () => {
    writeFileSync(join(dir, "config.yaml"), config());
    expectCode(await run(["validate"]), 0);
    expectCode(await run(["--json", "validate"]), 0);
    writeFileSync(join(dir, "p.json"), "old plan");
    chmodSync(join(dir, "p.json"), 0o644);
    const first = await run(["plan", "--out", "p.json"]);
    expect(first.code).toBe(2);
    expect(statSync(join(dir, "p.json")).mode & 0o777).toBe(0o600);
    const applied = await run(["-v", "apply", "p.json"]);

    expectCode(applied, 0);
    expect(statSync(join(dir, "state.yaml.key")).mode & 0o777).toBe(0o600);
    // What reached the hosts is the real value (read from the host, not through berth).
    expect(readFileSync(`/tmp/${prefix}-dk/app.conf`, "utf8")).toBe(`password=${db}\n`);
    expect(readFileSync(`/tmp/${prefix}-cr/motd`, "utf8")).toBe(inlineSecret);
    const second = await run(["plan"]);
    expect(second.out).toContain("No changes");
    expect(second.code).toBe(0);
    expectCode(await run(["--json", "plan"]), 0);
    expectCode(await run(["status"]), 0);
    expectCode(await run(["--json", "-v", "status"]), 0);
    expectCode(await run(["logs", "dk"]), 0);
    expectCode(await run(["--json", "logs", "cr"]), 0);
    expectCode(await run(["--json", "apply", "--yes"]), 0);
    expectCode(await run(["state", "recover", "--force"]), 0);
    expectCode(await run(["--json", "state", "recover", "--force"]), 0);
    expectCode(await run(["plan"]), 0);
  }, 300_000);

  test("a rotated secret plans a recreate without the value; a saved plan made before it is refused", async () => {
    const made = await run(["plan", "--out", "old.json"]);
    expect(made.code).toBe(0);
    ENV = { ...ENV, APP_DB_PW: rotated };
    const refused = await run(["apply", "old.json"]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('container "cr" env.DB_PASSWORD');
    expect(refused.out).toContain("no longer match the digest in the plan; nothing was changed");
    const changed = await run(["plan"]);
    expect(changed.code).toBe(2);
    expect(changed.out).toContain("~ env.DB_PASSWORD: (sensitive value changed)");
    expectCode(await run(["--json", "apply", "--yes"]), 0);
    expect(readFileSync(`/tmp/${prefix}-dk/app.conf`, "utf8")).toBe(`password=${rotated}\n`);
    expectCode(await run(["plan"]), 0);
  }, 300_000);

  test("a secret file changed on the host is drift, planned without its value", async () => {
    writeFileSync(`/tmp/${prefix}-dk/tls.pem`, `tampered ${token}`);
    writeFileSync(`/tmp/${prefix}-cr/tls.pem`, `tampered ${token}`);
    const drift = await run(["plan"]);
    expect(drift.code).toBe(2);
    expect(drift.out).toContain(`~ file /tmp/${prefix}-dk/tls.pem: (sensitive value changed)`);
    expect(drift.out).toContain(`~ file /tmp/${prefix}-cr/tls.pem: (sensitive value changed)`);
    expectCode(await run(["apply", "--yes"]), 0);
    // The CRI restart re-created the container from the annotation (no env values in it): the env came back.
    expect(criContainerEnv()).toContain(`DB_PASSWORD=${rotated}`);
    expect((await run(["plan"])).code).toBe(0);
  }, 300_000);

  test("a sensitive env var changed on the host behind berth's back is drift, planned without its value", async () => {
    // CRI keeps the sandbox (berth's id) and lets its container be replaced: done here by hand, with another password.
    const grpc = grpcClient({
      open: () => directTransport().openUnixSocket(cri.local.socket),
      description: "containerd (test view)",
    });
    const raw = criClient(grpc);
    try {
      const sandbox = (await raw.listPodSandbox({ labelSelector: { "berth.name": `${prefix}-cr` } }))[0];
      if (sandbox === undefined) throw new Error("no sandbox of the cr container");
      // The sandbox's own container, not berth's log rotator beside it.
      const old = (await raw.listContainers({ podSandboxId: sandbox.id })).find((c) =>
        c.labels[READER_LABEL] === undefined
      );
      if (old === undefined) throw new Error("no container in the cr sandbox");
      await raw.stopContainer(old.id, 5);
      await raw.removeContainer(old.id);
      const spec = podSpec({
        name: `${prefix}-cr`,
        image: env.registry.authImage,
        args: ["sleep", "100000"],
        env: { DB_PASSWORD: `set-by-hand-${token}`, MODE: "plain", API_TOKEN: apiToken },
      }, sandbox.labels);
      spec.container.metadata.attempt = (old.metadata?.attempt ?? 0) + 1;
      const id = await raw.createContainer(sandbox.id, spec.container, spec.sandbox);
      await raw.startContainer(id);
    } finally {
      await grpc.close();
    }
    const drift = await run(["plan"]);
    expect(drift.code).toBe(2);
    expect(drift.out).toContain("env var DB_PASSWORD was changed on the host outside berth");
    expect(drift.out).toContain("~ env.DB_PASSWORD: (sensitive value changed)");
    expect(drift.out.includes(`set-by-hand-${token}`)).toBe(false);
    expectCode(await run(["apply", "--yes"]), 0);
    expect(criContainerEnv()).toContain(`DB_PASSWORD=${rotated}`);
    expectCode(await run(["plan"]), 0);
  }, 300_000);

  test("failures keep secrets out too", async () => {
    writeFileSync(
      join(dir, "config.yaml"),
      config(`  bad: { host: local, image: busybox, secretEnv: { N: ${bareNumber} } }\n`),
    );
    const numeric = await run(["validate"]);
    expect(numeric.code).toBe(1);
    expect(numeric.out).toContain("secretEnv.N: expected a string, got a number; quote it");
    await run(["--json", "plan"]);
    writeFileSync(join(dir, "config.yaml"), config().replace("${file:app.pem}", "${file:missing.pem}"));
    const missing = await run(["apply", "--yes"]);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain(`file "${join(dir, "missing.pem")}" does not exist`);
    writeFileSync(join(dir, "config.yaml"), config());
    const noRegistry = await run(["plan"], { REG_PW: "wrong-password" });
    expect(noRegistry.code).toBe(0);
    chmodSync(join(dir, "state.yaml.key"), 0o644);
    const badKey = await run(["plan"]);
    expect(badKey.code).toBe(1);
    expect(badKey.out).toContain(`chmod 600 "${join(dir, "state.yaml.key")}"`);
    chmodSync(join(dir, "state.yaml.key"), 0o600);
    const destroyed = await run(["--json", "destroy", "--yes"]);
    expect(destroyed.code).toBe(0);
  }, 300_000);

  test("no secret, in any form, in anything berth printed or wrote, in Docker labels or CRI annotations", async () => {
    writeFileSync(join(dir, "config.yaml"), config());
    // Labels and annotations of live containers: deploy once more, then look.
    expectCode(await run(["apply", "--yes"]), 0);
    const places: Array<{ what: string; text: string }> = [
      ...new Map(outputs.map((o) => [o.text, o])).values(),
      ...[...written].flatMap(([name, texts]) => [...texts].map((text) => ({ what: `file ${name}`, text }))),
      { what: "Docker labels", text: await dockerLabels() },
      { what: "CRI sandbox annotations and labels", text: criSandboxMetadata() },
    ];
    expect(places.find((p) => p.what === "CRI sandbox annotations and labels")?.text).toContain("berth.config");
    expect(places.find((p) => p.what === "Docker labels")?.text).toContain("berth.config-hash");
    // The search finds what is there: the real value did reach the container's environment.
    const { body } = await dockerLocal(`/containers/${prefix}-dk/json`);
    expect(JSON.stringify((body as { Config: { Env: string[] } }).Config.Env)).toContain(
      `DB_PASSWORD=${rotated}`,
    );
    const leaks: string[] = [];
    let checks = 0;
    for (const { what, text } of places) {
      for (const [name, secret] of Object.entries(SECRETS)) {
        for (const [form, value] of forms(secret)) {
          checks++;
          if (text.includes(value)) leaks.push(`${name} (${form}) in ${what}`);
        }
      }
    }
    // Counted as the suite counts: distinct outputs x secrets (each searched in its three forms).
    tally("secretsChecks", places.length * Object.keys(SECRETS).length);
    console.log(
      `app secrets sweep: ${places.length} distinct outputs and files x ${Object.keys(SECRETS).length} secrets = ${
        places.length * Object.keys(SECRETS).length
      } checks (${checks} searches with the base64 and JSON-escaped forms), ${leaks.length} hits`,
    );
    expect(places.length).toBeGreaterThan(25);
    expect(leaks).toEqual([]);
  }, 300_000);
});

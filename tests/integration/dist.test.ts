/**
 * The npm package as built (`npm run build`, run.sh's build stage: the
 * library by tsc, the CLI bundled by esbuild): dist/cli.js and dist/mod.js
 * run on Node against the real local engine, checked through the engine's
 * own HTTP API.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { VERSION } from "../../version.ts";
import { loadTestEnv, removeLocalContainers } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { ROOT } from "../support/ts-script.ts";

const env = loadTestEnv();
const dir = mkdtempSync(join(tmpdir(), "berth-dist-"));
const prefix = `bt-dist-${process.pid}`;
const run = promisify(execFile);
const CLI = join(ROOT, "dist", "cli.js");
const MOD = join(ROOT, "dist", "mod.js");

function config(key: string): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  docker: { host: "unix://${env.local.socket}" }`,
    "containers:",
    `  ${key}: { name: ${prefix}-${key}, host: local, image: ${env.image}, init: true, networkMode: none, ` +
    `args: [sleep, "100000"] }`,
    "",
  ].join("\n");
}

/** The engine's own view of a container (raw HTTP), or undefined. */
const engineView = (name: string) => dockerView(env.local.socket).inspect(`${prefix}-${name}`);

/** `node dist/cli.js ARGS` in `cwd`: exit code and output. */
async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("node", [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw err;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

afterAll(async () => {
  await removeLocalContainers({ name: [prefix] });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("the built npm package (dist/)", () => {
  test("dist/cli.js and dist/mod.js are built", () => {
    for (const file of [CLI, MOD]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: build it first with \`npm run build\``);
    }
  });

  test("`node dist/cli.js` tells its version, applies, plans nothing more and destroys", async () => {
    const work = join(dir, "cli");
    mkdirSync(work, { recursive: true });
    expect((await cli(["--version"], work)).stdout.trim()).toBe(VERSION);
    writeFileSync(join(work, "config.yaml"), config("cli"));
    const applied = await cli(["apply", "--yes"], work);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect((await engineView("cli"))?.status).toBe("running");
    const plan = await cli(["plan"], work);
    expect(plan.stdout).toContain("No changes");
    expect(plan.code).toBe(0);
    expect((await cli(["destroy", "--yes"], work)).code).toBe(0);
    expect(await engineView("cli")).toBeUndefined();
  }, 120_000);

  test('`import ... from "dist/mod.js"` on Node deploys and exports the state', async () => {
    const script = [
      `import { fromYaml, VERSION } from ${JSON.stringify(MOD)};`,
      `const resource = fromYaml(${JSON.stringify(config("mod"))});`,
      "try {",
      "  await resource.deploy();",
      "  const { previousState } = resource.toExported();",
      "  console.log(JSON.stringify({ version: VERSION, id: previousState.mod.container.status.id }));",
      "} finally {",
      "  await resource.close();",
      "}",
    ].join("\n");
    const { stdout } = await run("node", ["--input-type=module", "-e", script], { cwd: dir, timeout: 60_000 });
    const printed = JSON.parse(stdout) as { version: string; id: string };
    expect(printed.version).toBe(VERSION);
    const view = await engineView("mod");
    expect(view).toMatchObject({ id: printed.id, status: "running" });
  }, 120_000);
});

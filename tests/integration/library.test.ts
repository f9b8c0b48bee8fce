/**
 * The library surface (mod.ts) as a user calls it, on the real local engine:
 * the README's library snippet run as written, `deploy()` and `toExported()`.
 * Every effect is checked through the engine's own HTTP API.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BerthError, ContainersResource, fromYaml } from "../../mod.ts";
import { loadTestEnv, removeLocalContainers } from "../support/env.ts";
import { dockerView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { ROOT, tsCommand } from "../support/ts-script.ts";

const env = loadTestEnv();
const prefix = `bt-lib-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "berth-lib-"));
const run = promisify(execFile);

function config(name: string, extra = "", init = true): string {
  return [
    "hosts:",
    "  local: { direct: {} }",
    "runtime:",
    `  docker: { host: "unix://${env.local.socket}" }`,
    "containers:",
    `  ${name}:`,
    `    name: ${prefix}-${name}`,
    "    host: local",
    `    image: ${env.image}`,
    `    init: ${init}`,
    "    networkMode: none",
    `    args: [sleep, "100000"]`,
    extra,
  ].join("\n");
}

/** The engine's own view of a container (raw HTTP), or undefined. */
const engineView = (name: string) => dockerView(env.local.socket).inspect(`${prefix}-${name}`);

afterAll(async () => {
  await removeLocalContainers({ name: [prefix] });
  rmSync(dir, { recursive: true, force: true });
});

describe("the library (mod.ts)", () => {
  test("the README's library snippet runs as written: the container runs and state.yaml names it", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## The library"));
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    if (snippet === undefined) throw new Error('README.md has no ```ts block under "## The library"');
    expect(snippet).toContain('from "berthctl"');
    const work = join(dir, "readme");
    mkdirSync(work);
    // Only the package name changes: "berthctl" is this checkout's mod.ts.
    writeFileSync(join(work, "snippet.ts"), snippet.replace('from "berthctl"', `from "${join(ROOT, "mod.ts")}"`));
    writeFileSync(join(work, "config.yaml"), config("readme"));
    // A user's project: an ES module package (top-level await).
    writeFileSync(join(work, "package.json"), '{ "type": "module" }\n');
    const [command, args] = tsCommand("snippet.ts");
    await run(command, args, { cwd: work, env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
    const view = await engineView("readme");
    expect(view?.status).toBe("running");
    const state = readFileSync(join(work, "state.yaml"), "utf8");
    expect(state).toContain(`name: ${prefix}-readme`);
    expect(state).toContain(`id: ${view?.id}`);
  }, 90_000);

  test("`deploy()` checks, plans and applies in one go; a resource from `toExported()` has nothing to do", async () => {
    const resource = fromYaml(config("deployed", `    env: { LEVEL: "1" }`));
    let exported: ReturnType<ContainersResource["toExported"]>;
    try {
      const result = await resource.deploy();
      expect([result.failed, result.interrupted]).toEqual([0, false]);
      exported = resource.toExported();
    } finally {
      await resource.close();
    }
    const view = await engineView("deployed");
    expect(view?.status).toBe("running");
    expect(exported.previousState?.["deployed"]?.container.status).toEqual({ id: view?.id, status: "running" });
    expect(exported.desiredState?.["deployed"]?.container.config).toMatchObject({
      name: `${prefix}-deployed`,
      image: env.image,
      env: { LEVEL: "1" },
    });
    const again = new ContainersResource(exported);
    try {
      await again.checkCurrentState();
      expect(again.plan().empty).toBe(true);
      await again.deploy();
    } finally {
      await again.close();
    }
    expect((await engineView("deployed"))?.id).toBe(view?.id);
  }, 90_000);

  test("`deploy()` throws the failed change's error and keeps what it did in the state", async () => {
    const resource = fromYaml(config("broken", "    entrypoint: [/no/such/binary]", false));
    let thrown: unknown;
    try {
      await resource.deploy().catch((err: unknown) => (thrown = err));
      expect(thrown).toBeInstanceOf(BerthError);
      expect((thrown as BerthError).message).toContain(`starting container "broken" on host`);
      const view = await engineView("broken");
      expect(view?.status).toBe("created");
      expect(resource.toExported().previousState?.["broken"]?.container.status?.id).toBe(view?.id);
    } finally {
      await resource.close();
    }
  }, 90_000);
});

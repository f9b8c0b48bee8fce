/**
 * The private containerds of `tests/env/containerd.sh` (CRI for the kubelet
 * runtime's tests): started here when they are not up yet, so a test file
 * also runs on its own. The script is idempotent.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "../support/harness.ts";

/** What `tests/env/containerd.sh up` recorded. */
export interface CriTestEnv {
  dir: string;
  /** The busybox image, present in every containerd (also its sandbox image). */
  image: string;
  /** containerd in this machine's network namespace. */
  local: { socket: string };
  /** containerd inside test host h1's network namespace (reach it through h1's SSH); null without the SSH fleet. */
  h1: { socket: string; netns: string } | null;
}

/** Brings the containerds up when needed and returns their env.json. */
export function loadCriEnv(): CriTestEnv {
  const dir = process.env["BERTH_CRI_DIR"] ?? "/tmp/berth-cri";
  const file = `${dir}/env.json`;
  const up = () => {
    const script = fileURLToPath(new URL("../env/containerd.sh", import.meta.url));
    execFileSync("bash", [script, "up"], { stdio: ["ignore", "ignore", "inherit"], timeout: 300_000 });
  };
  if (!existsSync(file)) up();
  let env = JSON.parse(readFileSync(file, "utf8")) as CriTestEnv;
  // A daemon that died (or the fleet that came up later): the script restarts what is missing.
  if (!existsSync(env.local.socket) || (env.h1 === null && fleetH1Netns() !== undefined)) {
    up();
    env = JSON.parse(readFileSync(file, "utf8")) as CriTestEnv;
  }
  return env;
}

/** h1's network namespace when the SSH fleet (tests/env/up.sh) is up, else undefined. */
function fleetH1Netns(): string | undefined {
  const file = `${process.env["BERTH_TEST_DIR"] ?? "/tmp/berth-test"}/env.json`;
  if (!existsSync(file)) return undefined;
  const h1 = (JSON.parse(readFileSync(file, "utf8")) as { hosts: Array<{ name: string; netns: string }> }).hosts
    .find((h) => h.name === "h1");
  return h1 !== undefined && existsSync(`/run/netns/${h1.netns}`) ? h1.netns : undefined;
}

/**
 * Registers, in place of the tests that need h1's containerd when it is not
 * up, one test that says so: failing under CI (`CI=true`), where the whole
 * environment must be there, else a skip that both runners count.
 */
export function h1ContainerdMissing(what: string): void {
  const title = `${what}: needs test host h1's containerd (tests/env/up.sh, then tests/env/containerd.sh up)`;
  if (process.env["CI"] === "true") {
    test(title, () => {
      throw new Error(
        `h1's containerd is not up (no "h1" in ${process.env["BERTH_CRI_DIR"] ?? "/tmp/berth-cri"}/env.json)`,
      );
    });
  } else {
    test.skip(title, () => {});
  }
}

/**
 * `--state-format flexkube`: the state file in flexkube's own layout
 * (`previousState:`), read back with the flexkube document reader; a file
 * that exists keeps its layout; berth's stays the default.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFlexkubeDocument } from "../../core/flexkube-document.ts";
import type { ContainersState } from "../../core/model.ts";
import type { Problem } from "../../core/problem.ts";
import { parseDocument, stateToYaml, stripSecrets } from "../../core/serialize.ts";
import { stateFormatOf, stateText } from "../../core/state-format.ts";
import { FileBackend } from "../../store/file-backend.ts";
import { runCli } from "../support/cli.ts";
import { describe, expect, test } from "../support/harness.ts";

const STATE: ContainersState = {
  etcd: {
    container: {
      config: { name: "etcd", image: "quay.io/coreos/etcd:v3.5.9", args: ["--name", "a b"], env: { A: "1" } },
      status: { id: "3f2a0123", status: "running" },
      runtime: { docker: { host: "unix:///var/run/docker.sock" } },
    },
    host: { sshConfig: { address: "198.18.0.11", port: 22, user: "root", password: "hunter2-secret" } },
    configFiles: { "/etc/etcd/etcd.conf": "name: a\n\n  indented\n" },
  },
  web: {
    container: { config: { name: "web", image: "busybox" }, status: { id: "77", status: "exited" } },
    host: { directConfig: {} },
  },
};

/** The recorded state of a flexkube document, as flexkube's reader sees it; fails on any problem. */
function readAsFlexkube(text: string): ContainersState | undefined {
  const doc = parseDocument(text, "state.yaml");
  const problems: Problem[] = [];
  const read = readFlexkubeDocument(doc, problems, "previousState");
  expect(problems).toEqual([]);
  return read.previousState;
}

describe("flexkube state layout", () => {
  test("stateText(flexkube) is a containers resource with previousState, read back as the same state, no secrets", () => {
    const text = stateText(STATE, "flexkube");
    expect(text.startsWith("previousState:\n  etcd:\n    container:\n")).toBe(true);
    expect(text).not.toContain("version:");
    expect(text).not.toContain("hunter2-secret");
    expect(readAsFlexkube(text)).toEqual(stripSecrets(STATE));
    expect(stateFormatOf(parseDocument(text, "s"))).toBe("flexkube");
    // The same containers, word for word, as berth's layout writes them.
    expect(text.slice("previousState:\n".length)).toBe(stateToYaml(STATE).split("containers:\n")[1]);
  });

  test("an empty state is written as flexkube writes it, {}", () => {
    expect(stateText({}, "flexkube")).toBe("{}\n");
    expect(stateFormatOf(parseDocument("{}\n", "s"))).toBe("berth");
  });

  test("a new file takes the asked layout; a file that exists keeps its own; berth's is the default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-format-"));
    const flex = join(dir, "flex.yaml");
    const asked = new FileBackend(flex, "flexkube");
    expect((await asked.read()).existed).toBe(false);
    await asked.write(STATE);
    expect(readAsFlexkube(readFileSync(flex, "utf8"))).toEqual(stripSecrets(STATE));

    // Read and written again without --state-format, and with berth's asked for: still flexkube's.
    for (const format of [undefined, "berth" as const]) {
      const again = new FileBackend(flex, format);
      const loaded = await again.read();
      expect(loaded.format).toBe("flexkube");
      expect(loaded.state).toEqual(stripSecrets(STATE));
      await again.write(STATE);
      expect(readAsFlexkube(readFileSync(flex, "utf8"))).toEqual(stripSecrets(STATE));
    }
    // Written without a read first (as state recover does): the layout of the file there.
    await new FileBackend(flex).write(STATE);
    expect(stateFormatOf(parseDocument(readFileSync(flex, "utf8"), "s"))).toBe("flexkube");

    const plain = join(dir, "plain.yaml");
    const byDefault = new FileBackend(plain);
    await byDefault.read();
    await byDefault.write(STATE);
    expect(readFileSync(plain, "utf8")).toBe(stateToYaml(STATE));
  });

  test("berth state push --state-format flexkube writes flexkube's layout; a wrong name or etcd is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-format-cli-"));
    writeFileSync(join(dir, "from.yaml"), stateToYaml(STATE), { mode: 0o600 });
    const pushed = await runCli(
      ["--state", "to.yaml", "--state-format", "flexkube", "state", "push", "from.yaml", "--yes"],
      dir,
    );
    expect(pushed.code).toBe(0);
    expect(readAsFlexkube(readFileSync(join(dir, "to.yaml"), "utf8"))).toEqual(stripSecrets(STATE));

    const wrong = await runCli(["--state-format", "flex", "validate"], dir);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain("expected one of berth, flexkube");

    const etcd = await runCli(
      ["--state", "etcd://127.0.0.1:1/x", "--state-format", "flexkube", "state", "pull"],
      dir,
    );
    expect(etcd.code).not.toBe(0);
    expect(`${etcd.stdout}${etcd.stderr}`).toContain("--state-format applies to a state file, not to etcd");
  });
});

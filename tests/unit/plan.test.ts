import { describe, expect, test } from "../support/harness.ts";
import { plan } from "../../engine/plan.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import type { ObservedState } from "../../engine/observe.ts";

function hcc(
  address: string | undefined,
  extra: Partial<HostConfiguredContainer["container"]["config"]> = {},
  id?: string,
): HostConfiguredContainer {
  return {
    container: {
      config: { name: "etcd", image: "etcd:3.5", ...extra },
      ...(id === undefined ? {} : { status: { id, status: "running" } }),
    },
    host: address === undefined ? { directConfig: {} } : { sshConfig: { address, port: 22, user: "root" } },
  };
}
const running = (id = "abc"): ObservedState[string] => ({ status: { id, status: "running" }, files: {}, mounts: {} });

describe("plan()", () => {
  test("plan() creates what is only desired", () => {
    const p = plan({ etcd: hcc("10.0.0.2") }, {}, { etcd: { files: {}, mounts: {} } });
    expect(p.changes[0]?.action).toBe("create");
    expect(p.summary).toEqual({ create: 1 });
    expect(p.empty).toBe(false);
  });

  test("plan() does nothing when desired equals recorded and the container runs", () => {
    const p = plan({ etcd: hcc("10.0.0.2") }, { etcd: hcc("10.0.0.2", {}, "abc") }, { etcd: running() });
    expect(p.empty).toBe(true);
  });

  test("plan() ignores how a host is reached: port, user, key, password", () => {
    const want = hcc("10.0.0.2");
    want.host = {
      sshConfig: { address: "10.0.0.2", port: 2222, user: "core", password: "secret", privateKeyPath: "/k" },
    };
    const p = plan({ etcd: want }, { etcd: hcc("10.0.0.2", {}, "abc") }, { etcd: running() });
    expect(p.empty).toBe(true);
  });

  test("plan() recreates a container that moves to another host", () => {
    const p = plan({ etcd: hcc("10.0.0.3") }, { etcd: hcc("10.0.0.2", {}, "abc") }, { etcd: running() });
    expect(p.changes[0]).toMatchObject({ action: "recreate", host: "10.0.0.3", fromHost: "10.0.0.2" });
  });

  test("plan() recreates on a config change, with a diff, but not on default-equal forms", () => {
    const changed = plan({ etcd: hcc(undefined, { args: ["--x"] }) }, { etcd: hcc(undefined, {}, "abc") }, {
      etcd: running(),
    });
    expect(changed.changes[0]?.action).toBe("recreate");
    expect(changed.changes[0]?.diff).toEqual([{ op: "+", path: "args[0]", after: '"--x"' }]);
    const same = plan({ etcd: hcc(undefined, { args: [], env: {}, privileged: false }) }, {
      etcd: hcc(undefined, {}, "abc"),
    }, { etcd: running() });
    expect(same.empty).toBe(true);
  });

  test("plan() recreates a container changed outside berth (hash label differs)", () => {
    const p = plan({ etcd: hcc(undefined) }, { etcd: hcc(undefined, {}, "abc") }, {
      etcd: { ...running(), configHash: "0".repeat(64) },
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.reasons[0]).toContain("changed outside berth");
  });

  test("plan() rewrites changed config files and restarts instead of recreating", () => {
    const want = { ...hcc(undefined), configFiles: { "/etc/a.conf": "new\n", "/etc/b.conf": "same\n" } };
    const was = { ...hcc(undefined, {}, "abc"), configFiles: { "/etc/a.conf": "old\n", "/etc/b.conf": "same\n" } };
    const p = plan({ etcd: want }, { etcd: was }, {
      etcd: { ...running(), files: { "/etc/a.conf": "old\n", "/etc/b.conf": "same\n" } },
    });
    expect(p.changes[0]?.action).toBe("update-files");
    expect(p.changes[0]?.files).toEqual(["/etc/a.conf"]);
    expect(p.changes[0]?.diff).toEqual([
      { op: "-", path: "file /etc/a.conf:1", before: "old" },
      { op: "+", path: "file /etc/a.conf:1", after: "new" },
    ]);
  });

  test("plan() recreating on one host writes and shows only the files that differ; a move writes them all", () => {
    const files = { "/etc/a.conf": "new\n", "/etc/b.conf": "same\n" };
    const want = { ...hcc("10.0.0.2", { args: ["--x"] }), configFiles: files };
    const was = { ...hcc("10.0.0.2", {}, "abc"), configFiles: { ...files, "/etc/a.conf": "old\n" } };
    const seen = { ...running(), files: { "/etc/a.conf": "old\n", "/etc/b.conf": "same\n" } };
    const p = plan({ etcd: want }, { etcd: was }, { etcd: seen });
    expect(p.changes[0]).toMatchObject({ action: "recreate", files: ["/etc/a.conf"], replaces: "abc" });
    expect(p.changes[0]?.reasons).toEqual(["container configuration changed", "config file /etc/a.conf differs"]);
    expect(p.changes[0]?.diff).toEqual([
      { op: "+", path: "args[0]", after: '"--x"' },
      { op: "-", path: "file /etc/a.conf:1", before: "old" },
      { op: "+", path: "file /etc/a.conf:1", after: "new" },
    ]);
    const same = plan({ etcd: want }, { etcd: was }, { etcd: { ...seen, files } });
    expect(same.changes[0]).toMatchObject({
      action: "recreate",
      files: [],
      reasons: ["container configuration changed"],
    });
    const moved = plan({ etcd: { ...want, host: hcc("10.0.0.3").host } }, { etcd: was }, { etcd: running() });
    expect(moved.changes[0]).toMatchObject({ action: "recreate", files: ["/etc/a.conf", "/etc/b.conf"] });
  });

  test("plan() blocks a recreate whose directory mount source is a file on the host, before anything is stopped", () => {
    const mounts = [{ source: "/srv/d/", target: "/d" }];
    const p = plan({ etcd: hcc("10.0.0.2", { mounts, args: ["--x"] }) }, { etcd: hcc("10.0.0.2", { mounts }, "abc") }, {
      etcd: { ...running(), mounts: { "/srv/d/": "file" } },
    });
    expect(p.changes[0]?.action).toBe("blocked");
    expect(p.changes[0]?.reasons[0]).toContain('mount source "/srv/d/" is a file on host 10.0.0.2');
  });

  test("plan() plans the write of a file it could not read, says why, and marks it for apply to read first", () => {
    const want = {
      ...hcc(undefined, { mounts: [{ source: "/srv/d/", target: "/d" }] }),
      configFiles: { "/etc/a.conf": "x\n" },
    };
    const was = {
      ...hcc(undefined, { mounts: [{ source: "/srv/d/", target: "/d" }] }, "abc"),
      configFiles: { "/etc/a.conf": "x\n" },
    };
    const why = "unknown until apply: reading over SFTP: Permission denied";
    const p = plan({ etcd: want }, { etcd: was }, {
      etcd: { ...running(), unknown: { "/etc/a.conf": why, "/srv/d/": why } },
    });
    expect(p.changes[0]).toMatchObject({
      action: "update-files",
      files: ["/etc/a.conf"],
      directories: ["/srv/d/"],
      unknown: ["/etc/a.conf", "/srv/d/"],
      diff: [],
    });
    expect(p.changes[0]?.reasons).toContain(`config file /etc/a.conf: ${why}`);
    expect(p.changes[0]?.reasons).toContain(`mount directory /srv/d/: ${why}`);
  });

  test("plan() starts a stopped container and removes an undesired one", () => {
    const p = plan(
      { etcd: hcc(undefined) },
      { etcd: hcc(undefined, {}, "abc"), old: { ...hcc(undefined, { name: "old" }, "def") } },
      { etcd: { status: { id: "abc", status: "exited" }, files: {}, mounts: {} }, old: running("def") },
    );
    expect(p.changes.map((c) => [c.name, c.action])).toEqual([["etcd", "start"], ["old", "remove"]]);
  });

  test("plan() forgets a gone container that is not desired, and creates a gone one that is", () => {
    const gone = { status: { id: "abc", status: "gone" }, files: {}, mounts: {} };
    expect(plan({}, { etcd: hcc(undefined, {}, "abc") }, { etcd: gone }).changes[0]?.action).toBe("forget");
    expect(plan({ etcd: hcc(undefined) }, { etcd: hcc(undefined, {}, "abc") }, { etcd: gone }).changes[0]?.action).toBe(
      "create",
    );
  });

  test("plan() blocks a container whose host cannot be checked, and one whose name is held by a foreign container", () => {
    const p = plan({ etcd: hcc("10.0.0.2") }, { etcd: hcc("10.0.0.2", {}, "abc") }, {
      etcd: { error: "connection refused", files: {}, mounts: {} },
    });
    expect(p.changes[0]?.action).toBe("blocked");
    expect(p.changes[0]?.reasons[0]).toBe("cannot check host 10.0.0.2: connection refused");
    const held = plan({ etcd: hcc(undefined) }, {}, {
      etcd: { nameHolder: { id: "f00", status: "running", managed: false }, files: {}, mounts: {} },
    });
    expect(held.changes[0]?.action).toBe("blocked");
    const ours = plan({ etcd: hcc(undefined) }, {}, {
      etcd: { nameHolder: { id: "f00", status: "running", managed: true }, files: {}, mounts: {} },
    });
    expect(ours.changes[0]).toMatchObject({ action: "recreate", replaces: "f00" });
  });

  test("plan() never puts secrets in the plan", () => {
    const want = hcc("10.0.0.3");
    want.host = { sshConfig: { address: "10.0.0.3", password: "hunter2", privateKey: "-----BEGIN KEY-----" } };
    const p = plan({ etcd: want }, { etcd: hcc("10.0.0.2", {}, "abc") } as ContainersState, { etcd: running() });
    expect(JSON.stringify(p)).not.toContain("hunter2");
    expect(JSON.stringify(p)).not.toContain("BEGIN KEY");
  });
});

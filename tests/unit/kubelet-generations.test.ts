import { podSpec, sandboxLogDirectory } from "../../runtimes/kubelet/pod-spec.ts";
import { describe, expect, test } from "../support/harness.ts";

describe("sandbox generations (a CRI recreate's new sandbox beside the old one)", () => {
  test("generation 0 keeps the metadata and log directory of before; a later one has its own uid, attempt and directory", () => {
    const first = podSpec({ name: "web", image: "busybox" }, {}).sandbox;
    expect(first.metadata).toEqual({ name: "web", uid: "web", namespace: "berth", attempt: 0 });
    expect(first.logDirectory).toBe("/var/log/berth/web");
    const next = podSpec({ name: "web", image: "busybox" }, {}, false, 2).sandbox;
    expect(next.metadata).toEqual({ name: "web", uid: "web@2", namespace: "berth", attempt: 2 });
    expect(next.logDirectory).toBe("/var/log/berth/web@2");
    // No container name has "@": generation 1 of "web" is never the directory of a container named "web.1" or "web-1".
    expect(sandboxLogDirectory("web", 1)).not.toBe(sandboxLogDirectory("web.1", 0));
    expect(sandboxLogDirectory("web.1", 0)).toBe("/var/log/berth/web.1");
  });
});

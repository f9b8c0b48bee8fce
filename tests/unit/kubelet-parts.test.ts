import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { BerthError } from "../../core/errors.ts";
import { CRI_DESCRIPTOR } from "../../runtimes/kubelet/api-descriptor.ts";
import { checkSupported, CONFIG_ANNOTATION, podSpec } from "../../runtimes/kubelet/pod-spec.ts";
import { describe, expect, test } from "../support/harness.ts";

describe("kubelet runtime parts", () => {
  test("`CRI_DESCRIPTOR` is api.proto as protobufjs parses it (regenerate with generate-descriptor.cjs)", () => {
    const protobuf = createRequire(import.meta.url)("protobufjs") as { loadSync(path: string): { toJSON(): unknown } };
    const parsed = protobuf.loadSync(fileURLToPath(new URL("../../runtimes/kubelet/api.proto", import.meta.url)))
      .toJSON();
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(CRI_DESCRIPTOR);
  });

  test("`podSpec()` maps a config onto a host-network sandbox and its container", () => {
    const spec = podSpec(
      {
        name: "web",
        image: "busybox",
        entrypoint: ["sh"],
        args: ["-c", "true"],
        env: { B: "2", A: "1" },
        user: "app",
        group: "10",
        mounts: [{ source: "/srv/data/", target: "/data", propagation: "rshared" }, { source: "/", target: "/host" }],
        pidMode: "host",
        privileged: true,
      },
      { "berth.managed": "true" },
    );
    expect(spec.sandbox.metadata).toEqual({ name: "web", uid: "web", namespace: "berth", attempt: 0 });
    expect(spec.sandbox.hostname).toBe("");
    expect(spec.sandbox.labels).toEqual({ "berth.managed": "true" });
    expect(JSON.parse(spec.sandbox.annotations?.[CONFIG_ANNOTATION] ?? "{}").image).toBe("busybox");
    expect(spec.sandbox.linux?.securityContext).toEqual({
      namespaceOptions: { network: "NODE", pid: "NODE", ipc: "POD" },
      privileged: true,
    });
    expect(spec.container.command).toEqual(["sh"]);
    expect(spec.container.args).toEqual(["-c", "true"]);
    expect(spec.container.envs).toEqual([{ key: "A", value: "1" }, { key: "B", value: "2" }]);
    expect(spec.container.mounts).toEqual([
      { hostPath: "/srv/data", containerPath: "/data", propagation: "PROPAGATION_BIDIRECTIONAL" },
      { hostPath: "/", containerPath: "/host", propagation: "PROPAGATION_PRIVATE" },
    ]);
    expect(spec.container.linux?.securityContext).toEqual({
      privileged: true,
      namespaceOptions: { network: "NODE", pid: "NODE", ipc: "POD" },
      runAsUsername: "app",
      runAsGroup: { value: 10 },
    });
  });

  test("`podSpec()` sets numeric users as ids, and root when only a group is given", () => {
    expect(podSpec({ name: "a", image: "i", user: "1000" }, {}).container.linux?.securityContext?.runAsUser).toEqual({
      value: 1000,
    });
    const groupOnly = podSpec({ name: "a", image: "i", group: "5" }, {}).container.linux?.securityContext;
    expect([groupOnly?.runAsUser, groupOnly?.runAsGroup]).toEqual([{ value: 0 }, { value: 5 }]);
  });

  test("`checkSupported()` lists every option CRI cannot honour in one VALIDATION error", () => {
    let error: unknown;
    try {
      checkSupported({
        name: "x",
        image: "i",
        networkMode: "bridge",
        ports: [{ port: 80 }],
        init: true,
        ipcMode: "container:y",
        mounts: [{ source: "/a", target: "/b", propagation: "weird" }],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BerthError);
    const message = (error as BerthError).message;
    for (
      const part of [
        'networkMode "bridge"',
        "ports need",
        "no init option",
        'ipcMode "container:y"',
        'propagation "weird"',
      ]
    ) expect(message).toContain(part);
    expect(() =>
      checkSupported({ name: "x", image: "i", networkMode: "host", pidMode: "host", ipcMode: "private", init: false })
    ).not.toThrow();
  });
});

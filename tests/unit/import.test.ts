/**
 * `berth import`'s comparison (engine/import.ts) and the Docker read-back it compares
 * (runtimes/docker/config-from-inspect.ts): what counts as a difference, what is recorded, secrets never shown.
 */
import { describe, expect, test } from "../support/harness.ts";
import { compareForImport } from "../../engine/import.ts";
import { configFromInspect, IMPORT_COMPARED } from "../../runtimes/docker/config-from-inspect.ts";
import type { HostConfiguredContainer } from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";

const want = (config: Record<string, unknown>, secretEnv: string[] = []): HostConfiguredContainer => ({
  host: { directConfig: {} },
  container: { config: { name: "web", image: "nginx:1", ...config } },
  ...(secretEnv.length > 0 ? { sensitive: { env: secretEnv } } : {}),
} as HostConfiguredContainer);

const seal = (v: string) => `sealed(${v})`;

describe("configFromInspect", () => {
  test("reads Binds and Mounts, port bindings, user:group, network mode; engine defaults read as absent", () => {
    expect(configFromInspect({
      Config: { Image: "nginx:1", Cmd: null, Entrypoint: ["/init"], Env: ["PATH=/bin", "A=x=y"], WorkingDir: "" },
      HostConfig: {
        PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "80" }], "53/udp": [{ HostPort: "5353" }] },
        Binds: ["/srv:/data:ro,rslave", "cache:/cache"],
        Mounts: [{ Type: "tmpfs", Target: "/run", TmpfsOptions: { SizeBytes: 1024, Mode: 0o700 } }],
        NetworkMode: "default",
        Privileged: false,
        Init: null,
      },
    })).toEqual({
      image: "nginx:1",
      entrypoint: ["/init"],
      env: { PATH: "/bin", A: "x=y" },
      // 5353 -> 53 cannot be said in berth's config: left out, so it differs from any config.
      ports: [{ port: 80, ip: "127.0.0.1" }],
      mounts: [
        { source: "/srv", target: "/data", readOnly: true, propagation: "rslave" },
        { type: "volume", source: "cache", target: "/cache" },
        { type: "tmpfs", target: "/run", size: 1024, mode: "700" },
      ],
    });
  });
});

describe("compareForImport", () => {
  test("equal in canonical form: no difference, the desired config is recorded", () => {
    const w = want({ env: { A: "1" }, mounts: [{ source: "/srv/", target: "/data" }], ports: [{ port: 80 }] });
    const found = {
      image: "docker.io/library/nginx:1",
      env: { A: "1", PATH: "/bin" },
      mounts: [{ source: "/srv", target: "/data" }],
      ports: [{ port: 80, protocol: "tcp" as const }],
      args: ["nginx", "-g", "daemon off;"], // the image's command: not set in the config, not compared
    };
    const r = compareForImport(w, { A: "1" }, found, IMPORT_COMPARED, seal);
    expect(r.diff).toEqual([]);
    expect(r.record).toEqual(w.container.config);
    expect(r.notCompared).toEqual([]);
  });

  test("differences are shown host -> config and the host's values recorded; secrets only as sensitive", () => {
    const w = want({
      env: { A: "1", TOKEN: "sealed(right)" },
      privileged: false,
      restartPolicy: "always",
      hostname: "h",
    }, ["TOKEN"]);
    const found = { image: "nginx:2", env: { TOKEN: "wrong" }, privileged: true, networkMode: "host" };
    const r = compareForImport(w, { A: "1", TOKEN: "right" }, found, IMPORT_COMPARED, seal);
    expect(r.diff).toEqual([
      { op: "~", path: "image", before: '"nginx:2"', after: '"nginx:1"' },
      { op: "+", path: "env.A", after: '"1"' },
      { op: "~", path: "env.TOKEN", sensitive: true },
      { op: "-", path: "networkMode", before: '"host"' },
      { op: "-", path: "privileged", before: "true" },
    ]);
    expect(r.record).toEqual({
      name: "web",
      image: "nginx:2",
      env: { TOKEN: "sealed(wrong)" },
      privileged: true,
      networkMode: "host",
      restartPolicy: "always",
      hostname: "h",
    });
    expect(JSON.stringify(r.diff)).not.toContain("wrong");
    // restartPolicy is changed in place: the plan after the import compares it (an update, no recreate).
    expect(r.notCompared).toEqual(["hostname"]);
  });
});

describe("ContainersResource.importContainer refusals that need no engine", () => {
  const container = (address: string | undefined) =>
    ({
      host: address === undefined ? { directConfig: {} } : { sshConfig: { address } },
      container: { config: { name: "web", image: "nginx:1" }, status: { id: "c".repeat(64), status: "running" } },
    }) as HostConfiguredContainer;

  test("a name not in the config (did-you-mean); a container the config moves to another host", async () => {
    const resource = new ContainersResource({
      previousState: { web: container("198.18.0.99") },
      desiredState: { web: container(undefined) },
    });
    try {
      await expect(resource.importContainer("wbe")).rejects.toThrow(
        'No container "wbe" in the config: did you mean "web"?',
      );
      await expect(resource.importContainer("web")).rejects.toThrow(
        `"web" is in the state on host 198.18.0.99 (container cccccccccccc), and the config moves it to local: ` +
          `run "berth apply" to move it instead`,
      );
    } finally {
      await resource.close();
    }
  });
});

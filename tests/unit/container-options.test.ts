/**
 * The container options of issue 14, group by group: validation with the
 * path and the fix, the identity hash (existing containers keep theirs), the
 * plan's action (update in place or recreate) and diff, and what each runtime
 * is sent or refuses. The real engines are in tests/integration/options.test.ts.
 */
import { describe, expect, test } from "../support/harness.ts";
import { canonicalConfig, configHash } from "../../core/hash.ts";
import type { ContainerConfig, HostConfiguredContainer } from "../../core/model.ts";
import { validateContainers } from "../../core/validate.ts";
import { configFromDocument } from "../../core/config.ts";
import { parseDocument } from "../../core/serialize.ts";
import { plan } from "../../engine/plan.ts";
import type { Observation } from "../../engine/observe.ts";
import { createBody, updateBody } from "../../runtimes/docker/create-body.ts";
import { checkSupported, podSpec } from "../../runtimes/kubelet/pod-spec.ts";
import { criResources, settingsFromResources } from "../../runtimes/kubelet/linux-options.ts";
import { formatPlan, styleFor } from "../../cli/output.ts";
import { volumeRemovals } from "../../engine/host-objects.ts";

const BASE: ContainerConfig = { name: "web", image: "nginx:1.25" };
const PATH = "desiredState.web.container.config";

function hcc(config: ContainerConfig, id?: string): HostConfiguredContainer {
  return {
    container: { config, ...(id === undefined ? {} : { status: { id, status: "running" } }) },
    host: { directConfig: {} },
  };
}

function problems(extra: Record<string, unknown>) {
  return validateContainers({ desiredState: { web: hcc({ ...BASE, ...extra } as ContainerConfig) } });
}

const running = (settings?: Partial<ContainerConfig>): Observation => ({
  status: { id: "abc", status: "running" },
  files: {},
  mounts: {},
  ...(settings === undefined ? {} : { settings }),
});

describe("restartPolicy, stopSignal, stopTimeout", () => {
  test("valid values pass; bad ones name the path and the fix", () => {
    for (const restartPolicy of ["no", "always", "unless-stopped", "on-failure", "on-failure:5"]) {
      expect(problems({ restartPolicy, stopSignal: "SIGQUIT", stopTimeout: 30 })).toEqual([]);
    }
    expect(problems({ stopSignal: "term" })).toEqual([]);
    expect(problems({ stopSignal: "15" })).toEqual([]);
    expect(problems({ restartPolicy: "sometimes" })).toEqual([{
      path: `${PATH}.restartPolicy`,
      message: '"sometimes" is not a restart policy: use no, always, unless-stopped, on-failure or on-failure:N',
    }]);
    expect(problems({ restartPolicy: "on-failure:many" })[0]?.message).toContain(
      "on-failure:N (N, the most restarts, a whole number)",
    );
    expect(problems({ stopSignal: "SIGFOO" })).toEqual([{
      path: `${PATH}.stopSignal`,
      message: '"SIGFOO" is not a signal: use a name such as SIGTERM, SIGQUIT or SIGINT, or a number from 1 to 64',
    }]);
    expect(problems({ stopTimeout: -1 })[0]).toMatchObject({ path: `${PATH}.stopTimeout` });
    expect(problems({ stopTimeout: "10" })[0]?.message).toContain("write 10 without quotes");
  });

  test("existing containers keep their hash: the default restart policy and absent fields hash alike", () => {
    const before = configHash(BASE);
    expect(configHash({ ...BASE, restartPolicy: "unless-stopped" })).toBe(before);
    // The restart policy changes in place, so it is never part of the identity.
    expect(configHash({ ...BASE, restartPolicy: "always" })).toBe(before);
    expect(configHash({ ...BASE, stopSignal: "SIGQUIT" })).not.toBe(before);
    expect(configHash({ ...BASE, stopSignal: "quit" })).toBe(configHash({ ...BASE, stopSignal: "SIGQUIT" }));
    expect(configHash({ ...BASE, stopTimeout: 30 })).not.toBe(before);
    expect(canonicalConfig({ ...BASE, stopSignal: "" })).toEqual({ name: "web", image: "nginx:1.25" });
  });

  test("a restart policy change is an in-place update, with a diff", () => {
    const p = plan({ web: hcc({ ...BASE, restartPolicy: "on-failure:3" }) }, { web: hcc(BASE, "abc") }, {
      web: running({ restartPolicy: "unless-stopped" }),
    });
    expect(p.changes[0]?.action).toBe("update");
    expect(p.changes[0]?.diff).toEqual([{ op: "+", path: "restartPolicy", after: '"on-failure:3"' }]);
    expect(p.changes[0]?.reasons.join("\n")).toContain("restartPolicy changed in place, without a recreate");
  });

  test("the printed plan says update, what changes in place, and that nothing is recreated", () => {
    const p = plan({ web: hcc({ ...BASE, restartPolicy: "always" }) }, { web: hcc(BASE, "abc") }, {
      web: running({ restartPolicy: "unless-stopped" }),
    });
    const text = formatPlan(p, styleFor({ isTTY: false }, {}));
    expect(text).toContain("~ web update on");
    expect(text).toContain("restartPolicy changed in place, without a recreate");
    expect(text).toContain("restartPolicy");
    expect(text).toContain(`+ restartPolicy: "always"\nPlan: 1 update.`);
  });

  test("a restart policy changed behind berth's back is planned back; matching engine values plan nothing", () => {
    const want = { web: hcc({ ...BASE, restartPolicy: "always" }) };
    const prev = { web: hcc({ ...BASE, restartPolicy: "always" }, "abc") };
    const drifted = plan(want, prev, { web: running({ restartPolicy: "no" }) });
    expect(drifted.changes[0]?.action).toBe("update");
    expect(drifted.changes[0]?.reasons[0]).toContain("changed outside berth");
    expect(drifted.changes[0]?.diff).toEqual([{ op: "~", path: "restartPolicy", before: '"no"', after: '"always"' }]);
    expect(plan(want, prev, { web: running({ restartPolicy: "always" }) }).empty).toBe(true);
    // The engine's unless-stopped is berth's default.
    expect(
      plan({ web: hcc(BASE) }, { web: hcc(BASE, "abc") }, { web: running({ restartPolicy: "unless-stopped" }) }).empty,
    )
      .toBe(true);
  });

  test("a stop signal or timeout change recreates, with a diff", () => {
    const p = plan({ web: hcc({ ...BASE, stopSignal: "SIGQUIT", stopTimeout: 30 }) }, { web: hcc(BASE, "abc") }, {
      web: running(),
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([
      { op: "+", path: "stopSignal", after: '"SIGQUIT"' },
      { op: "+", path: "stopTimeout", after: "30" },
    ]);
  });

  test("Docker gets RestartPolicy, StopSignal and StopTimeout; the update body carries the policy", () => {
    const body = createBody({ ...BASE, restartPolicy: "on-failure:3", stopSignal: "SIGQUIT", stopTimeout: 30 }, {});
    expect(body.HostConfig.RestartPolicy).toEqual({ Name: "on-failure", MaximumRetryCount: 3 });
    expect([body.StopSignal, body.StopTimeout]).toEqual(["SIGQUIT", 30]);
    expect(createBody(BASE, {}).HostConfig.RestartPolicy).toEqual({ Name: "unless-stopped" });
    expect(updateBody({ ...BASE, restartPolicy: "always" })).toEqual({ RestartPolicy: { Name: "always" } });
    expect(updateBody(BASE)).toEqual({ RestartPolicy: { Name: "unless-stopped" } });
  });

  test("CRI takes stopTimeout (berth's stops) and refuses restartPolicy and stopSignal before creating", () => {
    const host = { ...BASE, networkMode: "host" };
    checkSupported({ ...host, stopTimeout: 5 });
    expect(() => checkSupported({ ...host, restartPolicy: "always" })).toThrow(/remove `restartPolicy`/);
    expect(() => checkSupported({ ...host, stopSignal: "SIGQUIT" })).toThrow(/remove `stopSignal`/);
  });
});

describe("resources: memory, memoryReservation, memorySwap, cpus, cpuShares, cpusetCpus, pidsLimit, shmSize", () => {
  const LIMITS = {
    memory: "64m",
    memoryReservation: "32m",
    memorySwap: "256m",
    cpus: 0.5,
    cpuShares: 512,
    cpusetCpus: "0",
    pidsLimit: 100,
    shmSize: "128m",
  };

  test("valid values pass; 512M, 512mb and 1.5g are refused with the spelling to write", () => {
    expect(problems(LIMITS)).toEqual([]);
    expect(problems({ memory: 67108864, memorySwap: -1 })).toEqual([]);
    expect(problems({ memory: "512M" })).toEqual([{
      path: `${PATH}.memory`,
      message: 'write "512m": sizes are a whole number and k, m or g (binary: 1024, 1024², 1024³ bytes)',
    }]);
    expect(problems({ memory: "512mb" })[0]?.message).toContain('write "512m"');
    expect(problems({ memory: "512MiB" })[0]?.message).toContain('write "512m"');
    expect(problems({ shmSize: "1.5g" })[0]?.message).toBe('"1.5g" is not a whole number of g: write "1536m"');
    expect(problems({ memory: "1m" })[0]?.message).toBe(`a memory limit "1m" is below the engine's minimum of 6m`);
    expect(problems({ memory: "lots" })[0]?.message).toContain("is not a size");
    expect(problems({ cpus: "0.5" })[0]).toMatchObject({ path: `${PATH}.cpus` });
    expect(problems({ cpus: "0.5" })[0]?.message).toContain("write 0.5 without quotes");
    expect(problems({ cpus: 0 })[0]?.message).toContain("above 0");
    expect(problems({ cpusetCpus: "0-a" })[0]).toMatchObject({
      path: `${PATH}.cpusetCpus`,
      message: '"0-a" is not a CPU list: write CPU numbers and ranges, such as "0-1,3"',
    });
    expect(problems({ pidsLimit: 0 })[0]).toMatchObject({ path: `${PATH}.pidsLimit` });
  });

  test("limits the engine checks against each other are refused at validation, in both formats", () => {
    expect(problems({ memory: "64m", memoryReservation: "128m" })).toEqual([{
      path: `${PATH}.memoryReservation`,
      message: "must not be above memory (64m): lower it, or raise memory",
    }]);
    expect(problems({ memory: "128m", memorySwap: "64m" })[0]).toMatchObject({ path: `${PATH}.memorySwap` });
    expect(problems({ memorySwap: "1g" })[0]?.message).toContain("needs memory");
    expect(problems({ memory: "64m", memorySwap: -1 })).toEqual([]);
    expect(problems({ networkMode: "host", sysctls: { "net.ipv4.ip_forward": "1" } })[0]).toMatchObject({
      path: `${PATH}.sysctls["net.ipv4.ip_forward"]`,
    });
    const yaml =
      "hosts: { local: { direct: {} } }\ncontainers: { web: { host: local, image: x, memory: 64m, memoryReservation: 1g } }";
    expect(() => configFromDocument(parseDocument(yaml, "config.yaml"), "config.yaml")).toThrow(
      /containers\.web\.memoryReservation: must not be above memory/,
    );
  });

  test("limits the engine changes in place keep the identity hash; shmSize is identity, 64m being the default", () => {
    const before = configHash(BASE);
    const { shmSize: _, ...inPlace } = LIMITS;
    expect(configHash({ ...BASE, ...inPlace })).toBe(before);
    expect(configHash({ ...BASE, shmSize: "64m" })).toBe(before);
    expect(configHash({ ...BASE, shmSize: "128m" })).toBe(configHash({ ...BASE, shmSize: 134217728 }));
    expect(configHash({ ...BASE, shmSize: "128m" })).not.toBe(before);
  });

  test("a memory or CPU change is an update in place; the engine's own swap default compares equal", () => {
    const prev = { web: hcc({ ...BASE, memory: "64m", cpus: 1 }, "abc") };
    const engine = running({
      restartPolicy: "unless-stopped",
      memory: 64 * 1024 ** 2,
      memorySwap: 128 * 1024 ** 2,
      cpus: 1,
    });
    expect(plan({ web: hcc({ ...BASE, memory: "64m", cpus: 1 }) }, prev, { web: engine }).empty).toBe(true);
    expect(plan({ web: hcc({ ...BASE, memory: 67108864, cpus: 1 }) }, prev, { web: engine }).empty).toBe(true);
    const p = plan({ web: hcc({ ...BASE, memory: "128m", cpus: 1.5 }) }, prev, { web: engine });
    expect(p.changes[0]?.action).toBe("update");
    expect(p.changes[0]?.diff).toEqual([
      { op: "~", path: "cpus", before: "1", after: "1.5" },
      { op: "~", path: "memory", before: "67108864", after: "134217728" },
    ]);
  });

  test("removing a limit recreates, since the engine cannot clear it in place; the plan says why", () => {
    const p = plan({ web: hcc(BASE) }, { web: hcc({ ...BASE, memory: "64m" }, "abc") }, {
      web: running({ memory: 64 * 1024 ** 2, memorySwap: 128 * 1024 ** 2 }),
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.reasons).toContain("memory cannot be cleared in place, so the container is recreated");
  });

  test("Docker gets each limit in bytes and nano-CPUs; the update body keeps swap at twice the memory", () => {
    const host = createBody({ ...BASE, ...LIMITS }, {}).HostConfig;
    expect(host).toMatchObject({
      Memory: 64 * 1024 ** 2,
      MemoryReservation: 32 * 1024 ** 2,
      MemorySwap: 256 * 1024 ** 2,
      NanoCpus: 500_000_000,
      CpuShares: 512,
      CpusetCpus: "0",
      PidsLimit: 100,
      ShmSize: 128 * 1024 ** 2,
    });
    expect(updateBody({ ...BASE, memory: "1g" })).toEqual({
      RestartPolicy: { Name: "unless-stopped" },
      Memory: 1024 ** 3,
      MemorySwap: 2 * 1024 ** 3,
    });
    expect(updateBody({ ...BASE, ...LIMITS })).not.toHaveProperty("ShmSize");
  });

  test("CRI's reported limits read back as the settings that made them (no perpetual drift)", () => {
    for (
      const settings of [
        { memory: 64 * 1024 ** 2 },
        { memory: 64 * 1024 ** 2, memorySwap: 256 * 1024 ** 2, cpus: 1.1, cpuShares: 512, cpusetCpus: "0-1" },
        { memory: 1024 ** 3, memorySwap: -1, cpus: 0.29 },
      ]
    ) {
      expect(settingsFromResources(criResources({ ...BASE, ...settings }) ?? {})).toEqual(settings);
    }
    // containerd's own swap limit when none was sent: the memory limit.
    expect(settingsFromResources({ memoryLimitInBytes: 1024, memorySwapLimitInBytes: 1024 })).toEqual({ memory: 1024 });
  });

  test("CRI maps memory, memorySwap, cpus, cpuShares, cpusetCpus; refuses the other limits before creating", () => {
    const mapped = { memory: "64m", memorySwap: "256m", cpus: 0.5, cpuShares: 512, cpusetCpus: "0" };
    checkSupported({ ...BASE, networkMode: "host", ...mapped });
    expect(podSpec({ ...BASE, ...mapped }, {}).container.linux?.resources).toEqual({
      memoryLimitInBytes: 64 * 1024 ** 2,
      memorySwapLimitInBytes: 256 * 1024 ** 2,
      cpuPeriod: 100_000,
      cpuQuota: 50_000,
      cpuShares: 512,
      cpusetCpus: "0",
    });
    expect(podSpec({ ...BASE, memory: "1g", memorySwap: -1 }, {}).container.linux?.resources).toEqual({
      memoryLimitInBytes: 1024 ** 3,
      memorySwapLimitInBytes: -1,
    });
    expect(podSpec(BASE, {}).container.linux).not.toHaveProperty("resources");
    // What containerd does without a swap limit, which a plan reads back as not set; CPU in CFS quota steps.
    expect(() => checkSupported({ ...BASE, networkMode: "host", memory: "64m", memorySwap: 64 * 1024 ** 2 })).toThrow(
      "memorySwap equal to memory is what CRI does without it",
    );
    expect(() => checkSupported({ ...BASE, networkMode: "host", cpus: 0.123456 })).toThrow(/at most 5 decimals/);
    expect(() => checkSupported({ ...BASE, networkMode: "host", cpus: 0.001 })).toThrow(/from 0.01/);
    for (const key of ["memoryReservation", "pidsLimit", "shmSize"] as const) {
      expect(() => checkSupported({ ...BASE, networkMode: "host", [key]: LIMITS[key] })).toThrow(
        new RegExp(`remove \`${key}\``),
      );
    }
  });
});

describe("labels, hostname, domainname, extraHosts, dns, dnsSearch", () => {
  const NAMING = {
    labels: { "com.example.team": "infra", tier: "db" },
    hostname: "db-1",
    domainname: "example.com",
    extraHosts: ["registry:10.0.0.5", "gw:host-gateway"],
    dns: ["1.1.1.1", "2606:4700:4700::1111"],
    dnsSearch: ["example.com"],
  };

  test("valid values pass; berth's label keys and bad names or addresses are refused with the fix", () => {
    expect(problems(NAMING)).toEqual([]);
    expect(problems({ labels: { "berth.name": "x" } })).toEqual([{
      path: `${PATH}.labels["berth.name"]`,
      message:
        'label "berth.name" is berth\'s own (keys starting "berth." are reserved): choose another key, such as "app.name"',
    }]);
    expect(problems({ hostname: "db_1" })[0]).toMatchObject({ path: `${PATH}.hostname` });
    expect(problems({ domainname: "-x.com" })[0]).toMatchObject({ path: `${PATH}.domainname` });
    expect(problems({ extraHosts: ["registry=10.0.0.5"] })[0]).toMatchObject({
      path: `${PATH}.extraHosts[0]`,
      message: '"registry=10.0.0.5" is not an /etc/hosts entry: write "name:address", such as "db:10.0.0.5"',
    });
    expect(problems({ extraHosts: ["registry:10.0.0"] })[0]?.message).toContain("is not an IPv4 or IPv6 address");
    expect(problems({ dns: ["dns.google"] })[0]).toMatchObject({
      path: `${PATH}.dns[0]`,
      message: '"dns.google" is not a DNS server address: write an IPv4 or IPv6 address, such as "1.1.1.1"',
    });
    expect(problems({ dnsSearch: ["a b"] })[0]).toMatchObject({ path: `${PATH}.dnsSearch[0]` });
  });

  test("each is part of the identity: a change recreates, with a diff; empty values hash as absent", () => {
    const before = configHash(BASE);
    expect(configHash({ ...BASE, labels: {}, hostname: "", extraHosts: [], dns: [], dnsSearch: [] })).toBe(before);
    for (const [key, value] of Object.entries(NAMING)) expect(configHash({ ...BASE, [key]: value })).not.toBe(before);
    const p = plan({ web: hcc({ ...BASE, labels: { tier: "web" } }) }, {
      web: hcc({ ...BASE, labels: { tier: "db" } }, "abc"),
    }, {
      web: running(),
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([{ op: "~", path: "labels.tier", before: '"db"', after: '"web"' }]);
  });

  test("Docker gets each; berth's labels stay alongside the user's", () => {
    const body = createBody({ ...BASE, ...NAMING }, { labels: { "berth.managed": "true" } });
    expect(body.Labels).toEqual({ "com.example.team": "infra", tier: "db", "berth.managed": "true" });
    expect([body.Hostname, body.Domainname]).toEqual(["db-1", "example.com"]);
    expect(body.HostConfig).toMatchObject({
      ExtraHosts: NAMING.extraHosts,
      Dns: NAMING.dns,
      DnsSearch: NAMING.dnsSearch,
    });
  });

  test("CRI takes labels; the host network's name and resolver fields are refused", () => {
    const host = { ...BASE, networkMode: "host" };
    checkSupported({ ...host, labels: NAMING.labels });
    expect(podSpec({ ...host, labels: NAMING.labels }, { "berth.managed": "true" }).container.labels).toEqual({
      ...NAMING.labels,
      "berth.managed": "true",
    });
    for (const key of ["hostname", "domainname", "extraHosts", "dns", "dnsSearch"] as const) {
      expect(() => checkSupported({ ...host, [key]: NAMING[key] })).toThrow(new RegExp(`remove \`${key}\``));
    }
  });
});

describe("security: capAdd, capDrop, securityOpt, readOnly, devices, ulimits, sysctls, groupAdd, tmpfs", () => {
  const SECURITY = {
    capAdd: ["NET_ADMIN"],
    capDrop: ["cap_net_raw"],
    securityOpt: ["no-new-privileges"],
    readOnly: true,
    devices: [{ source: "/dev/zero", target: "/dev/berth-zero", permissions: "rw" }],
    ulimits: { nofile: { soft: 1024, hard: 2048 } },
    sysctls: { "net.ipv4.ip_unprivileged_port_start": "80", "kernel.shmmax": "1000000" },
    groupAdd: ["123"],
    tmpfs: { "/run/scratch": "size=16m,mode=1777" },
  };

  test("valid values pass; unknown capabilities, relative devices and host-wide sysctls are refused with the fix", () => {
    expect(problems(SECURITY)).toEqual([]);
    expect(problems({ capAdd: ["NET_ADMN"] })).toEqual([{
      path: `${PATH}.capAdd[0]`,
      message:
        '"NET_ADMN" is not a Linux capability; did you mean NET_ADMIN? (see capabilities(7); the CAP_ prefix is optional)',
    }]);
    expect(problems({ devices: [{ source: "dev/fuse" }] })[0]).toMatchObject({ path: `${PATH}.devices[0].source` });
    expect(problems({ devices: [{ source: "/dev/fuse", permissions: "rx" }] })[0]?.message).toContain(
      'letters of "rwm"',
    );
    expect(problems({ sysctls: { "kernel.panic": "1" } })[0]).toMatchObject({
      path: `${PATH}.sysctls["kernel.panic"]`,
    });
    expect(problems({ sysctls: { "kernel.panic": "1" } })[0]?.message).toContain("is not namespaced");
    expect(problems({ securityOpt: ["seccomp"] })[0]?.message).toContain("seccomp=PROFILE");
    expect(problems({ ulimits: { nofiles: { soft: 1, hard: 1 } } })[0]?.message).toContain("did you mean nofile?");
    expect(problems({ ulimits: { nofile: { soft: 1 } } })[0]).toMatchObject({ path: `${PATH}.ulimits.nofile.hard` });
    expect(problems({ tmpfs: { "/run/x": "size=16m,exec=yes" } })[0]?.message).toContain("not a tmpfs option");
    expect(problems({ tmpfs: { "run/x": "" } })[0]?.path).toContain("tmpfs");
  });

  test("each is part of the identity (recreate); equivalent spellings hash alike", () => {
    const before = configHash(BASE);
    for (const [key, value] of Object.entries(SECURITY)) expect(configHash({ ...BASE, [key]: value })).not.toBe(before);
    expect(configHash({ ...BASE, readOnly: false, capAdd: [], devices: [], ulimits: {}, tmpfs: {} })).toBe(before);
    expect(configHash({ ...BASE, capAdd: ["net_admin", "CAP_SYS_TIME"] })).toBe(
      configHash({ ...BASE, capAdd: ["SYS_TIME", "NET_ADMIN"] }),
    );
    expect(configHash({ ...BASE, devices: [{ source: "/dev/fuse", target: "/dev/fuse", permissions: "wrm" }] })).toBe(
      configHash({ ...BASE, devices: [{ source: "/dev/fuse" }] }),
    );
    const p = plan({ web: hcc({ ...BASE, readOnly: true }) }, { web: hcc(BASE, "abc") }, { web: running() });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([{ op: "+", path: "readOnly", after: "true" }]);
  });

  test("Docker gets each", () => {
    expect(createBody({ ...BASE, ...SECURITY }, {}).HostConfig).toMatchObject({
      CapAdd: ["NET_ADMIN"],
      CapDrop: ["cap_net_raw"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Devices: [{ PathOnHost: "/dev/zero", PathInContainer: "/dev/berth-zero", CgroupPermissions: "rw" }],
      Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
      Sysctls: SECURITY.sysctls,
      GroupAdd: ["123"],
      Tmpfs: SECURITY.tmpfs,
    });
  });

  test("CRI maps capabilities, security options, readOnly, devices, IPC sysctls and group ids", () => {
    const host = { ...BASE, networkMode: "host" };
    const mapped = {
      capAdd: ["NET_ADMIN", "cap_sys_time"],
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges", "seccomp=/etc/berth/seccomp.json", "apparmor=unconfined"],
      readOnly: true,
      devices: [{ source: "/dev/zero", target: "/dev/berth-zero", permissions: "rw" }, { source: "/dev/fuse" }],
      sysctls: { "kernel.shmmax": "1000000", "fs.mqueue.msg_max": "20" },
      groupAdd: ["123", "456"],
    };
    checkSupported({ ...host, ...mapped });
    const spec = podSpec({ ...host, ...mapped }, {});
    expect(spec.container.linux?.securityContext).toMatchObject({
      capabilities: { addCapabilities: ["NET_ADMIN", "SYS_TIME"], dropCapabilities: ["ALL"] },
      noNewPrivs: true,
      seccomp: { profileType: "Localhost", localhostRef: "/etc/berth/seccomp.json" },
      apparmor: { profileType: "Unconfined" },
      readonlyRootfs: true,
      supplementalGroups: [123, 456],
    });
    expect(spec.container.devices).toEqual([
      { hostPath: "/dev/zero", containerPath: "/dev/berth-zero", permissions: "rw" },
      { hostPath: "/dev/fuse", containerPath: "/dev/fuse", permissions: "rwm" },
    ]);
    // Sandbox-level in CRI: berth's sandbox holds this one container.
    expect(spec.sandbox.linux?.sysctls).toEqual(mapped.sysctls);
    expect(podSpec({ ...host, securityOpt: ["no-new-privileges:false"] }, {}).container.linux?.securityContext)
      .not.toHaveProperty("noNewPrivs");
  });

  test("CRI refuses ulimits, tmpfs, group names, net.* sysctls and the security options it lacks, each named", () => {
    const host = { ...BASE, networkMode: "host" };
    const cases: Array<[Partial<ContainerConfig>, string]> = [
      [{ ulimits: SECURITY.ulimits }, "remove `ulimits`"],
      [{ tmpfs: SECURITY.tmpfs }, "remove `tmpfs`"],
      [{ groupAdd: ["123", "docker"] }, 'groupAdd "docker": CRI takes group ids only'],
      [
        { sysctls: { "net.ipv4.ip_forward": "1" } },
        'sysctl "net.ipv4.ip_forward": the container uses the host network',
      ],
      [{ ipcMode: "host", sysctls: { "kernel.shmmax": "1" } }, 'sysctl "kernel.shmmax": with ipcMode "host"'],
      [{ securityOpt: ["label=disable"] }, 'securityOpt "label=disable": CRI takes only'],
      [{ securityOpt: ["systempaths=unconfined"] }, '"systempaths=unconfined"'],
      [{ securityOpt: ["seccomp=profile.json"] }, "seccomp=/absolute/profile.json"],
    ];
    for (const [extra, message] of cases) {
      expect(() => checkSupported({ ...host, ...extra } as ContainerConfig)).toThrow(message);
    }
  });
});

describe("logging", () => {
  test("valid values pass; unknown drivers and json-file options are refused with a suggestion", () => {
    expect(problems({ logging: { driver: "local", options: { "max-size": "5m" } } })).toEqual([]);
    expect(problems({ logging: { driver: "syslog", options: { "syslog-address": "udp://10.0.0.1:514" } } })).toEqual(
      [],
    );
    expect(problems({ logging: { driver: "json-fil" } })).toEqual([{
      path: `${PATH}.logging.driver`,
      message: `"json-fil" is not a logging driver: use one of ${
        ["json-file", "local", "journald", "syslog", "fluentd", "gelf", "awslogs", "splunk", "gcplogs", "logentries"]
          .join(", ")
      }, etwlogs, none (did you mean json-file?)`,
    }]);
    expect(problems({ logging: { options: { "max-sise": "5m" } } })).toEqual([{
      path: `${PATH}.logging.options.max-sise`,
      message: '"max-sise" is not an option of the json-file and local drivers; did you mean max-size?',
    }]);
    expect(problems({ logging: { options: { "max-size": "5MB" } } })[0]?.message).toContain("is not a size");
    expect(problems({ logging: { options: { "max-file": "0" } } })[0]?.message).toContain("number of files");
  });

  test("the default (json-file rotated at 10m x 3) keeps the identity hash; anything else changes it", () => {
    const before = configHash(BASE);
    expect(configHash({ ...BASE, logging: {} })).toBe(before);
    expect(configHash({ ...BASE, logging: { driver: "json-file", options: { "max-size": "10m" } } })).toBe(before);
    expect(configHash({ ...BASE, logging: { options: { "max-size": "50m" } } })).not.toBe(before);
    expect(configHash({ ...BASE, logging: { driver: "local" } })).not.toBe(before);
  });

  test("Docker gets rotated json-file logs by default, and the config's driver and options otherwise", () => {
    expect(createBody(BASE, {}).HostConfig.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-file": "3", "max-size": "10m" },
    });
    expect(createBody({ ...BASE, logging: { options: { "max-size": "-1" } } }, {}).HostConfig.LogConfig).toEqual({
      Type: "json-file",
      Config: { "max-file": "3", "max-size": "-1" },
    });
    expect(createBody({ ...BASE, logging: { driver: "none" } }, {}).HostConfig.LogConfig).toEqual({
      Type: "none",
      Config: {},
    });
  });

  test("CRI rotates its own log files with json-file's max-size and max-file; other drivers and options are refused", () => {
    const host = { ...BASE, networkMode: "host" };
    checkSupported({ ...host, logging: { driver: "json-file" } });
    checkSupported({ ...host, logging: { options: { "max-size": "1m", "max-file": "5" } } });
    checkSupported({ ...host, logging: { options: { "max-size": "-1" } } });
    expect(() => checkSupported({ ...host, logging: { driver: "local" } })).toThrow(
      /logging driver "local" is Docker-only: remove it/,
    );
    expect(() => checkSupported({ ...host, logging: { options: { compress: "true" } } })).toThrow(
      /logging option "compress": the CRI runtime rotates its log files with max-size and max-file only/,
    );
  });
});

describe("mounts: read-only bind mounts and tmpfs mounts", () => {
  const RO = { source: "/srv/conf/", target: "/conf", readOnly: true };
  const TMPFS = { type: "tmpfs" as const, target: "/scratch", size: "16m", mode: "700" };

  test("valid mounts pass; fields of the other type, a missing source and a bad mode are refused with the fix", () => {
    expect(problems({ mounts: [RO, TMPFS, { type: "tmpfs", target: "/t" }] })).toEqual([]);
    expect(problems({ mounts: [{ target: "/x" }] })).toEqual([{
      path: `${PATH}.mounts[0].source`,
      message: 'a bind mount needs source: set it, such as source: "/var/lib/app/"',
    }]);
    expect(problems({ mounts: [{ type: "tmpfs", target: "/x", source: "/a" }] })).toEqual([{
      path: `${PATH}.mounts[0].source`,
      message: "source is for bind mounts, this one is tmpfs: remove source",
    }]);
    expect(problems({ mounts: [{ source: "/a", target: "/x", size: "1m" }] })).toEqual([{
      path: `${PATH}.mounts[0].size`,
      message: "size is for tmpfs mounts, this one is bind: remove size, or set type: tmpfs",
    }]);
    expect(problems({ mounts: [{ type: "tmpfs", target: "/x", mode: "1778" }] })[0]).toMatchObject({
      path: `${PATH}.mounts[0].mode`,
      message: '"1778" is not an octal mode: write such as "1777" or "700"',
    });
    expect(problems({ mounts: [{ type: "tmpfs", target: "/x", size: "16M" }] })[0]?.path).toBe(
      `${PATH}.mounts[0].size`,
    );
    expect(problems({ mounts: [{ type: "nfs", target: "/x" }] })[0]?.path).toBe(`${PATH}.mounts[0].type`);
    expect(problems({ mounts: [{ source: "/a", target: "/x", readOnly: "yes" }] })[0]?.path).toBe(
      `${PATH}.mounts[0].readOnly`,
    );
  });

  test("each is part of the identity (recreate); defaults and spellings hash alike; plain bind mounts keep theirs", () => {
    const bind = { source: "/srv/conf/", target: "/conf" };
    const before = configHash({ ...BASE, mounts: [bind] });
    expect(canonicalConfig({ ...BASE, mounts: [{ ...bind, readOnly: false, type: "bind" }] })).toEqual(
      canonicalConfig({ ...BASE, mounts: [bind] }),
    );
    expect(configHash({ ...BASE, mounts: [{ ...bind, readOnly: false, type: "bind" }] })).toBe(before);
    expect(configHash({ ...BASE, mounts: [RO] })).not.toBe(before);
    expect(configHash({ ...BASE, mounts: [{ ...TMPFS, size: 16 * 1024 * 1024, mode: "0700" }] })).toBe(
      configHash({ ...BASE, mounts: [TMPFS] }),
    );
    expect(configHash({ ...BASE, mounts: [{ type: "tmpfs", target: "/t", mode: "1777" }] })).toBe(
      configHash({ ...BASE, mounts: [{ type: "tmpfs", target: "/t" }] }),
    );
    const p = plan({ web: hcc({ ...BASE, mounts: [RO] }) }, { web: hcc({ ...BASE, mounts: [bind] }, "abc") }, {
      web: { ...running(), mounts: { "/srv/conf/": "directory" } },
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(JSON.stringify(p.changes[0]?.diff)).toContain("readOnly");
  });

  test("Docker gets ReadOnly and a tmpfs mount with its size and mode", () => {
    expect(createBody({ ...BASE, mounts: [RO, TMPFS] }, {}).HostConfig.Mounts).toEqual([
      { Type: "bind", Source: "/srv/conf", Target: "/conf", ReadOnly: true },
      { Type: "tmpfs", Target: "/scratch", TmpfsOptions: { SizeBytes: 16 * 1024 * 1024, Mode: 0o700 } },
    ]);
  });

  test("CRI takes a read-only bind mount; a tmpfs mount is refused before creating", () => {
    const host = { ...BASE, networkMode: "host" };
    checkSupported({ ...host, mounts: [RO] });
    expect(podSpec({ ...host, mounts: [RO] }, {}).container.mounts?.[0]).toMatchObject({
      hostPath: "/srv/conf",
      readonly: true,
    });
    expect(() => checkSupported({ ...host, mounts: [RO, TMPFS] })).toThrow(/mount "\/scratch": CRI has no tmpfs mount/);
  });
});

describe("named volumes: declared under volumes:, mounted by name", () => {
  const config = (volumes: string, mounts: string) =>
    configFromDocument(
      parseDocument(
        `hosts: { local: { direct: {} } }\n${volumes}containers:\n  web: { host: local, image: nginx, mounts: ${mounts} }\n`,
        "config.yaml",
      ),
      "config.yaml",
      { env: {} },
    );

  test("a declared volume's driver and options go into the mounts that use it; the names are the config's", () => {
    const c = config(
      "volumes: { data: { driver: local, options: { type: tmpfs, device: tmpfs } }, spare: {} }\n",
      "[{ type: volume, source: data, target: /data, readOnly: true }]",
    );
    expect(c.desiredState["web"]?.container.config.mounts).toEqual([{
      type: "volume",
      source: "data",
      target: "/data",
      readOnly: true,
      driver: "local",
      driverOptions: { type: "tmpfs", device: "tmpfs" },
    }]);
    expect(c.volumes).toEqual(["data", "spare"]);
  });

  test("an undeclared volume is refused with did-you-mean; driver in a mount, a path as a name, refused", () => {
    const problemsOf = (volumes: string, mounts: string) => {
      try {
        config(volumes, mounts);
        return [];
      } catch (err) {
        return (err as { problems: Array<{ path: string; message: string }> }).problems;
      }
    };
    expect(problemsOf("volumes: { data: {} }\n", "[{ type: volume, source: dta, target: /d }]")).toEqual([{
      path: "containers.web.mounts[0].source",
      message: 'volume "dta" is not declared under volumes:; did you mean `data`?',
    }]);
    expect(problemsOf("", "[{ type: volume, source: cache, target: /d }]")[0]?.message).toContain(
      "declare it: volumes: { cache: {} }",
    );
    expect(problemsOf("volumes: { data: {} }\n", "[{ type: volume, source: data, target: /d, driver: nfs }]"))
      .toEqual([{
        path: "containers.web.mounts[0].driver",
        message: "declare the volume's driver under volumes: instead",
      }]);
    expect(problems({ mounts: [{ type: "volume", source: "/srv/data", target: "/d" }] })[0]).toMatchObject({
      path: `${PATH}.mounts[0].source`,
    });
    expect(problems({ mounts: [{ type: "volume", source: "data", target: "/d", propagation: "rshared" }] })[0])
      .toMatchObject({ path: `${PATH}.mounts[0].propagation` });
    expect(problemsOf("volumes: { /x: {} }\n", "[]")[0]?.path).toContain("volumes");
  });

  test("a volume mount is in the identity; its driver and options are not (an existing volume keeps its own)", () => {
    const mount = { type: "volume" as const, source: "data", target: "/data" };
    const before = configHash({ ...BASE, mounts: [mount] });
    expect(configHash({ ...BASE, mounts: [{ ...mount, driver: "local", driverOptions: { o: "x" } }] })).toBe(before);
    expect(configHash({ ...BASE, mounts: [{ ...mount, source: "other" }] })).not.toBe(before);
    expect(configHash({ ...BASE, mounts: [{ source: "/data", target: "/data" }] })).not.toBe(before);
  });

  test("Docker gets a volume mount by name; CRI refuses it before creating", () => {
    const mount = { type: "volume" as const, source: "data", target: "/data", driver: "local" };
    expect(createBody({ ...BASE, mounts: [mount] }, {}).HostConfig.Mounts).toEqual([
      { Type: "volume", Source: "data", Target: "/data" },
    ]);
    expect(() => checkSupported({ ...BASE, networkMode: "host", mounts: [mount] })).toThrow(
      /mount "\/data": CRI has no volume mount/,
    );
  });

  test("a volume that left volumes: is removed where recorded containers mounted it, with a warning; never else", () => {
    const previous = {
      a: hcc({ ...BASE, name: "a", mounts: [{ type: "volume", source: "data", target: "/d" }] }, "1"),
      b: hcc({ ...BASE, name: "b", mounts: [{ type: "volume", source: "data", target: "/d" }] }, "2"),
    };
    expect(volumeRemovals(previous, ["data"])).toEqual([]);
    expect(volumeRemovals(previous, undefined)).toEqual([]);
    const removals = volumeRemovals(previous, []);
    expect(removals.map((r) => [r.name, r.via])).toEqual([["data", "a"]]);
    expect(removals[0]?.warning).toContain("deletes its data");
    const text = formatPlan(
      { changes: [], summary: {}, empty: false, volumes: removals },
      styleFor({ isTTY: false }, {}),
    );
    expect(text).toContain("volume data remove on");
    expect(text).toContain('warning: volume "data" is no longer under volumes:');
    expect(text).toContain("Plan: 1 volume remove.");
  });
});

describe("networks: declared under networks:, joined by name with aliases and static addresses", () => {
  const config = (networks: string, containers: string) =>
    configFromDocument(
      parseDocument(
        `hosts: { local: { direct: {} }, far: { direct: {} } }\n${networks}containers:\n${containers}`,
        "config.yaml",
      ),
      "config.yaml",
      { env: {} },
    );
  const problemsOf = (networks: string, containers: string) => {
    try {
      config(networks, containers);
      return [];
    } catch (err) {
      return (err as { problems: Array<{ path: string; message: string }> }).problems;
    }
  };
  const DECLARED = "networks: { backend: { subnet: 10.20.0.0/24, internal: true }, front: {} }\n";

  test("a declaration goes into the attachments that use it", () => {
    const c = config(
      DECLARED,
      "  db: { host: local, image: x, networks: [ { name: backend, aliases: [db], ipv4Address: 10.20.0.5 } ] }\n",
    );
    expect(c.desiredState["db"]?.container.config.networks).toEqual([
      { name: "backend", aliases: ["db"], ipv4Address: "10.20.0.5", subnet: "10.20.0.0/24", internal: true },
    ]);
  });

  test("undeclared names, addresses outside the subnet, shared static addresses, networkMode: each refused", () => {
    expect(problemsOf(DECLARED, "  a: { host: local, image: x, networks: [ { name: backnd } ] }\n")).toEqual([{
      path: "containers.a.networks[0].name",
      message: 'network "backnd" is not declared under networks:; did you mean `backend`?',
    }]);
    expect(
      problemsOf(DECLARED, "  a: { host: local, image: x, networks: [ { name: backend, ipv4Address: 10.21.0.5 } ] }\n"),
    )
      .toEqual([{
        path: "containers.a.networks[0].ipv4Address",
        message: '"10.21.0.5" is not in network backend\'s subnet 10.20.0.0/24: pick one in it',
      }]);
    expect(
      problemsOf(DECLARED, "  a: { host: local, image: x, networks: [ { name: front, ipv4Address: 10.9.0.5 } ] }\n")[0]
        ?.message,
    ).toContain("set networks.front.subnet");
    const two = (hostB: string) =>
      `  a: { host: local, image: x, networks: [ { name: backend, ipv4Address: 10.20.0.5 } ] }\n` +
      `  b: { host: ${hostB}, image: x, networks: [ { name: backend, ipv4Address: 10.20.0.5 } ] }\n`;
    expect(problemsOf(DECLARED, two("local"))).toEqual([{
      path: "containers.b.networks[0].ipv4Address",
      message: '"10.20.0.5" on network backend is already container "a"\'s on this host: give each its own address',
    }]);
    expect(problemsOf(DECLARED, two("far"))).toEqual([]);
    expect(
      problemsOf(DECLARED, "  a: { host: local, image: x, networkMode: host, networks: [ { name: front } ] }\n")[0],
    )
      .toMatchObject({ path: "containers.a.networkMode" });
    expect(
      problemsOf(DECLARED, "  a: { host: local, image: x, networks: [ { name: front }, { name: front } ] }\n")[0]
        ?.message,
    ).toContain("joined twice");
    expect(problemsOf("networks: { bridge: {} }\n", "  a: { host: local, image: x }\n")[0]?.message).toContain(
      "the engine's own network",
    );
    expect(problemsOf("networks: { n: { subnet: 10.0.0.0 } }\n", "  a: { host: local, image: x }\n")[0]?.message)
      .toContain("not an IPv4 subnet");
    expect(problems({ networks: [{ name: "n", aliases: ["bad alias"] }] })[0]?.path).toBe(
      `${PATH}.networks[0].aliases[0]`,
    );
  });

  test("in the identity when set (aliases as a set); the declaration is not", () => {
    const n = { name: "backend", aliases: ["db", "sql"] };
    expect(configHash({ ...BASE, networks: [] })).toBe(configHash(BASE));
    expect(configHash({ ...BASE, networks: [n] })).not.toBe(configHash(BASE));
    expect(configHash({ ...BASE, networks: [{ ...n, aliases: ["sql", "db"], subnet: "10.0.0.0/8" }] })).toBe(
      configHash({ ...BASE, networks: [n] }),
    );
  });

  test("Docker joins the first network at create (the rest are connected after); CRI refuses networks", () => {
    const body = createBody({
      ...BASE,
      networks: [{ name: "backend", aliases: ["db"], ipv4Address: "10.20.0.5" }, { name: "front" }],
    }, {});
    expect(body.HostConfig.NetworkMode).toBe("backend");
    expect(body.NetworkingConfig).toEqual({
      EndpointsConfig: { backend: { Aliases: ["db"], IPAMConfig: { IPv4Address: "10.20.0.5" } } },
    });
    expect(() => checkSupported({ ...BASE, networkMode: "host", networks: [{ name: "backend" }] })).toThrow(
      /remove `networks`/,
    );
  });
});

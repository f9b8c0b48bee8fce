/**
 * Health gates as data: the `healthcheck` and `gate` fields (validation
 * naming the field and the fix, identity), the gate a config asks for, the
 * Docker create body, and the plan's gate per change and crash-loop reason.
 * The real engines are in tests/integration/gates.test.ts.
 */
import { describe, expect, test } from "../support/harness.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainerConfig, HostConfiguredContainer } from "../../core/model.ts";
import { validateContainers } from "../../core/validate.ts";
import { describeGate, gateOf } from "../../core/gate-fields.ts";
import { plan } from "../../engine/plan.ts";
import type { Observation } from "../../engine/observe.ts";
import { createBody } from "../../runtimes/docker/create-body.ts";
import { formatPlan, styleFor } from "../../cli/output.ts";

const BASE: ContainerConfig = { name: "web", image: "nginx:1.25" };
const PATH = "desiredState.web.container.config";
const CHECK = { test: ["wget", "-q", "--spider", "http://127.0.0.1/"], interval: "2s" };

function hcc(config: ContainerConfig, id?: string): HostConfiguredContainer {
  return {
    container: { config, ...(id === undefined ? {} : { status: { id, status: "running" } }) },
    host: { directConfig: {} },
  };
}

function problems(extra: Record<string, unknown>) {
  return validateContainers({ desiredState: { web: hcc({ ...BASE, ...extra } as ContainerConfig) } });
}

const observed = (status: string): Observation => ({ status: { id: "abc", status }, files: {}, mounts: {} });

describe("healthcheck and gate: validation", () => {
  test("valid gates pass", () => {
    expect(problems({ healthcheck: CHECK })).toEqual([]);
    expect(problems({ healthcheck: { test: "wget -q -O- http://127.0.0.1/ || exit 1" }, gate: { healthy: true } }))
      .toEqual([]);
    expect(problems({ gate: { running: "10s", timeout: "30s" } })).toEqual([]);
    expect(problems({ gate: { tcp: 8080 } })).toEqual([]);
    expect(problems({ gate: { none: true } })).toEqual([]);
  });

  test("a gate that can never pass is refused, naming the field and the fix", () => {
    expect(problems({ healthcheck: { test: [] } })).toEqual([{
      path: `${PATH}.healthcheck.test`,
      message:
        'an empty command can never pass: write one, such as ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/"]',
    }]);
    expect(problems({ healthcheck: { test: "  " } })[0]?.path).toBe(`${PATH}.healthcheck.test`);
    expect(problems({ healthcheck: { test: ["CMD-SHELL"] } })[0]?.message).toContain("an empty command");
    expect(problems({ healthcheck: { test: ["NONE"] } })[0]?.message).toContain("remove healthcheck");
    expect(problems({ gate: { tcp: 0 } })).toEqual([{
      path: `${PATH}.gate.tcp`,
      message: "expected a port from 1 to 65535, got 0",
    }]);
    expect(problems({ gate: { tcp: 70000 } })[0]?.path).toBe(`${PATH}.gate.tcp`);
    expect(problems({ healthcheck: CHECK, gate: { healthy: true, timeout: "1s" } })).toEqual([{
      path: `${PATH}.gate.timeout`,
      message:
        "1s is shorter than healthcheck.interval (2s): the gate times out before the first check; raise timeout or lower the interval",
    }]);
    // Docker's default interval is 30s.
    expect(problems({ healthcheck: { test: ["true"] }, gate: { healthy: true, timeout: "10s" } })[0]?.message)
      .toContain("healthcheck.interval (30s, the default)");
    expect(problems({ gate: { running: "2m", timeout: "1m" } })[0]).toEqual({
      path: `${PATH}.gate.timeout`,
      message: "1m is shorter than running (2m), so the gate can never pass: raise timeout, or remove it",
    });
    expect(problems({ gate: { healthy: true } })).toEqual([{
      path: `${PATH}.gate.healthy`,
      message: "needs a healthcheck: add healthcheck: {test: [...]}, or wait for `running` or `tcp` instead",
    }]);
    expect(problems({ gate: { tcp: 80, running: "5s" } })[0]?.message).toContain("sets running and tcp");
    expect(problems({ gate: { timeout: "5s" } })[0]?.message).toContain("set one, such as `tcp: 8080`");
    expect(problems({ gate: { tpc: 80 } })[0]?.message).toContain("did you mean `tcp`?");
    expect(problems({ healthcheck: { ...CHECK, interval: "soon" } })[0]?.path).toBe(`${PATH}.healthcheck.interval`);
    expect(problems({ healthcheck: { ...CHECK, retries: 0 } })[0]?.path).toBe(`${PATH}.healthcheck.retries`);
  });
});

describe("the gate a config asks for", () => {
  test("its gate, else healthy with a healthcheck, else running briefly", () => {
    expect(describeGate(gateOf(BASE))).toBe("running 0.25s");
    expect(describeGate(gateOf({ ...BASE, healthcheck: CHECK }))).toBe("healthy within 60s");
    expect(describeGate(gateOf({ ...BASE, gate: { tcp: 8080, timeout: "90s" } }))).toBe("tcp 8080 within 90s");
    expect(describeGate(gateOf({ ...BASE, gate: { running: "10s" } }))).toBe("running 10s");
    expect(describeGate(gateOf({ ...BASE, gate: { none: true } }))).toBe("none");
    // A healthcheck slower than 60s stretches the default wait: start period plus a check per retry.
    expect(describeGate(gateOf({ ...BASE, healthcheck: { test: ["true"], startPeriod: "30s" } }))).toBe(
      "healthy within 150s",
    );
  });

  test("the healthcheck is part of the identity, the gate is not", () => {
    expect(configHash({ ...BASE, healthcheck: CHECK })).not.toBe(configHash(BASE));
    expect(configHash({ ...BASE, healthcheck: { ...CHECK, interval: "2000ms" } })).toBe(
      configHash({ ...BASE, healthcheck: CHECK }),
    );
    expect(configHash({ ...BASE, gate: { tcp: 80 } })).toBe(configHash(BASE));
  });

  test("Docker gets the healthcheck in its create body, in nanoseconds; not the gate", () => {
    const body = createBody({ ...BASE, healthcheck: { test: "exit 0", retries: 5 }, gate: { tcp: 80 } }, {});
    expect(body.Healthcheck).toEqual({
      Test: ["CMD-SHELL", "exit 0"],
      Interval: 30e9,
      Timeout: 30e9,
      Retries: 5,
      StartPeriod: 0,
    });
    expect(createBody({ ...BASE, healthcheck: CHECK }, {}).Healthcheck?.Test).toEqual(["CMD", ...CHECK.test]);
  });
});

describe("the gate in the plan", () => {
  test("each change that starts a container shows its gate; the plan prints it", () => {
    const want = { web: hcc({ ...BASE, healthcheck: CHECK }) };
    const p = plan(want, {}, {});
    expect(p.changes[0]?.gate).toBe("healthy within 60s");
    expect(formatPlan(p, styleFor({}, {}))).toContain("+ web create on local (gate: healthy within 60s)");
    // Changing only the gate changes nothing on the host.
    const was = { web: hcc(BASE, "abc") };
    expect(plan({ web: hcc({ ...BASE, gate: { tcp: 80 } }) }, was, { web: observed("running") }).changes[0]?.action)
      .toBe("nothing");
  });

  test("a crash-looping (restarting) container is never nothing: it is started again through its gate", () => {
    const was = { web: hcc(BASE, "abc") };
    const change = plan({ web: hcc(BASE) }, was, { web: observed("restarting") }).changes[0];
    expect(change?.action).toBe("start");
    expect(change?.reasons[0]).toContain("container is restarting (a crash loop");
    expect(change?.gate).toBe("running 0.25s");
  });
});

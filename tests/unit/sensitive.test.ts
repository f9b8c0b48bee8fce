import { chmodSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "../support/harness.ts";
import { configFromDocument } from "../../core/config.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainersState } from "../../core/model.ts";
import { digestOf, REDACTED, sealState } from "../../core/sensitive.ts";
import { parseDocument, stateFromDocument, stateToYaml } from "../../core/serialize.ts";
import { assertBasisHolds, planBasis } from "../../engine/basis.ts";
import type { ObservedState } from "../../engine/observe.ts";
import { plan } from "../../engine/plan.ts";
import { formatPlan, styleFor } from "../../cli/output.ts";
import { digestKeyPath, loadDigestKey } from "../../store/digest-key.ts";
import { writePlanFile } from "../../store/plan-file.ts";

const SECRET = "hunter2-918273645";
const FILE_SECRET = "-----BEGIN KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END KEY-----\n";
const KEY = new Uint8Array(32).fill(7);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "berth-sensitive-"));
}

/** A config with a secret in each of the four ways; `pw` is the environment's DBPW. */
function load(pw: string, dir = tempDir()): ContainersState {
  writeFileSync(join(dir, "tls.key"), FILE_SECRET);
  const doc = parseDocument(
    `hosts: { local: { direct: {} } }
containers:
  app:
    host: local
    image: busybox
    env: { DB_PASSWORD: "\${env:DBPW}", MODE: plain }
    secretEnv: { API_TOKEN: literal-token-value }
    configFiles:
      /etc/app/app.conf: "password=\${env:DBPW}"
      /etc/app/tls.key: "\${file:tls.key}"
      /etc/app/motd: { content: "inline secret text", secret: true }
      /etc/app/plain.conf: "level=info"
`,
    "config.yaml",
  );
  return configFromDocument(doc, "config.yaml", { env: { DBPW: pw }, baseDir: dir }).desiredState;
}

/** What the host reports for a recorded, unchanged container. */
function observedFor(recorded: ContainersState, files: Record<string, string | null> = {}): ObservedState {
  const app = recorded["app"];
  return {
    app: {
      status: { id: "c1", status: "running" },
      configHash: configHash(app?.container.config as never, app?.container.runtime),
      files: { ...sealState(recorded, KEY)["app"]?.configFiles, ...files },
      mounts: {},
    },
  };
}

function recordedState(desired: ContainersState): ContainersState {
  const sealed = sealState(desired, KEY);
  return {
    app: { ...sealed["app"]!, container: { ...sealed["app"]!.container, status: { id: "c1", status: "running" } } },
  };
}

describe("sensitive values", () => {
  test("the config marks ${env:}, ${file:}, secretEnv and secret: true values as sensitive, and only those", () => {
    const app = load(SECRET)["app"];
    expect(app?.sensitive).toEqual({
      env: ["API_TOKEN", "DB_PASSWORD"],
      configFiles: ["/etc/app/app.conf", "/etc/app/motd", "/etc/app/tls.key"],
    });
    expect(app?.container.config.env).toEqual({ DB_PASSWORD: SECRET, MODE: "plain", API_TOKEN: "literal-token-value" });
    expect(app?.configFiles?.["/etc/app/tls.key"]).toBe(FILE_SECRET);
    expect(app?.configFiles?.["/etc/app/motd"]).toBe("inline secret text");
  });

  test("a ${file:} that does not exist is an error naming the field and the path", () => {
    const dir = tempDir();
    const doc = {
      hosts: { local: { direct: {} } },
      containers: { app: { host: "local", image: "busybox", configFiles: { "/etc/k": "${file:missing.pem}" } } },
    };
    expect(() => configFromDocument(doc, "config.yaml", { baseDir: dir })).toThrow(
      `containers.app.configFiles["/etc/k"]: \${file:missing.pem}: file "${join(dir, "missing.pem")}" does not exist`,
    );
  });

  test("a secret given as a bare number is refused without repeating it", () => {
    const doc = {
      hosts: { local: { direct: {} } },
      containers: { app: { host: "local", image: "busybox", secretEnv: { PW: 918273645 } } },
    };
    let message = "";
    try {
      configFromDocument(doc, "config.yaml");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("containers.app.secretEnv.PW: expected a string, got a number; quote it");
    expect(message.includes("918273645")).toBe(false);
  });

  test("stateToYaml() writes digests with a key, a marker without, never the values; the state reads back", () => {
    const desired = load(SECRET);
    for (const options of [{ digestKey: KEY }, {}]) {
      const yaml = stateToYaml(desired, options);
      for (const secret of [SECRET, "literal-token-value", "c2VjcmV0LWtleS1ib2R5", "inline secret text"]) {
        expect(yaml.includes(secret)).toBe(false);
      }
      expect(yaml).toContain("MODE: plain");
      expect(yaml).toContain("level=info");
      const back = stateFromDocument(parseDocument(yaml, "state.yaml"), "state.yaml");
      const expected = options.digestKey === undefined ? REDACTED : digestOf(SECRET, KEY);
      expect(back["app"]?.container.config.env?.["DB_PASSWORD"]).toBe(expected);
    }
  });

  test("a changed secret plans a recreate and a file rewrite without showing either value", () => {
    const recorded = recordedState(load("old-password-value"));
    const desired = sealState(load(SECRET), KEY);
    const p = plan(desired, recorded, observedFor(recorded));
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([
      { op: "~", path: "env.DB_PASSWORD", sensitive: true },
      { op: "~", path: "file /etc/app/app.conf", sensitive: true },
    ]);
    expect(p.changes[0]?.files).toEqual(["/etc/app/app.conf"]);
    const text = formatPlan(p, styleFor({ isTTY: false } as never, {}));
    expect(text).toContain("~ env.DB_PASSWORD: (sensitive value changed)");
    expect(text).toContain("~ file /etc/app/app.conf: (sensitive value changed)");
    for (const value of [SECRET, "old-password-value"]) {
      expect(text.includes(value)).toBe(false);
      expect(JSON.stringify(p).includes(value)).toBe(false);
    }
  });

  test("an unchanged secret gives an empty plan; a secret file changed on the host is drift shown without values", () => {
    const recorded = recordedState(load(SECRET));
    const desired = sealState(load(SECRET), KEY);
    expect(plan(desired, recorded, observedFor(recorded)).empty).toBe(true);
    const drifted = observedFor(recorded, { "/etc/app/tls.key": digestOf("tampered", KEY) });
    const p = plan(desired, recorded, drifted);
    expect(p.changes[0]?.action).toBe("update-files");
    expect(p.changes[0]?.diff).toEqual([{ op: "~", path: "file /etc/app/tls.key", sensitive: true }]);
  });

  test("a sensitive env var changed on the host is drift by digest, shown without the value", () => {
    const recorded = recordedState(load(SECRET));
    const desired = sealState(load(SECRET), KEY);
    const same = {
      ...observedFor(recorded),
      app: {
        ...observedFor(recorded)["app"]!,
        env: { DB_PASSWORD: digestOf(SECRET, KEY), API_TOKEN: digestOf("literal-token-value", KEY) },
      },
    };
    expect(plan(desired, recorded, same).empty).toBe(true);
    const changed = { app: { ...same.app, env: { ...same.app.env, DB_PASSWORD: digestOf("set-by-hand", KEY) } } };
    const p = plan(desired, recorded, changed);
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.reasons).toEqual([
      "env var DB_PASSWORD was changed on the host outside berth (its digest differs)",
    ]);
    expect(p.changes[0]?.diff).toEqual([{ op: "~", path: "env.DB_PASSWORD", sensitive: true }]);
    expect(JSON.stringify(p).includes("set-by-hand")).toBe(false);
  });

  test("a saved plan is refused when a secret no longer matches its digest", () => {
    const recorded = recordedState(load(SECRET));
    const made = planBasis(recorded, sealState(load(SECRET), KEY), {});
    const now = planBasis(recorded, sealState(load("rotated-value"), KEY), {});
    expect(() => assertBasisHolds(made, now)).toThrow(
      'container "app" env.DB_PASSWORD, container "app" file /etc/app/app.conf no longer match the digest in the plan; nothing was changed',
    );
    expect(() => assertBasisHolds(made, planBasis(recorded, sealState(load(SECRET), KEY), {}))).not.toThrow();
  });

  test("the digest key is made with mode 0600, kept, refused with the chmod when readable by others", () => {
    const state = join(tempDir(), "state.yaml");
    const key = loadDigestKey(state, {});
    expect(statSync(digestKeyPath(state)).mode & 0o777).toBe(0o600);
    expect(loadDigestKey(state, {})).toEqual(key);
    chmodSync(digestKeyPath(state), 0o644);
    expect(() => loadDigestKey(state, {})).toThrow(`run chmod 600 "${digestKeyPath(state)}"`);
    const team = "a-team-key-that-is-long-enough-for-hmac";
    expect(loadDigestKey(state, { BERTH_DIGEST_KEY: team })).toEqual(new TextEncoder().encode(team));
    expect(() => loadDigestKey(state, { BERTH_DIGEST_KEY: "short" })).toThrow("use at least 32");
  });

  test("plan --out onto an existing 0644 file leaves it 0600", async () => {
    const file = join(tempDir(), "p.json");
    writeFileSync(file, "old", { mode: 0o644 });
    chmodSync(file, 0o644);
    await writePlanFile(file, {
      changes: [],
      summary: {},
      empty: true,
      basis: { state: "", desired: "", observed: {} },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe("state files from before sealing", () => {
  test("plain sensitive values in a recorded state are noticed in one line and sealed in what is written", async () => {
    const { ContainersResource } = await import("../../engine/containers.ts");
    const desired = load(SECRET);
    // As an earlier berth wrote it: the values in plain text, no marks.
    const { sensitive: _marks, ...app } = desired["app"]!;
    const legacy: ContainersState = {
      app: { ...app, container: { ...app.container, status: { id: "c1", status: "running" } } },
    };
    const notices: string[] = [];
    const resource = new ContainersResource({ desiredState: desired, previousState: legacy }, {
      digestKey: KEY,
      log: (m) => notices.push(m),
    });
    try {
      expect(notices.length).toBe(1);
      expect(notices[0]).toContain('container "app" env.DB_PASSWORD');
      expect(notices[0]).toContain("apply rewrites it with digests only");
      expect(notices[0]?.includes(SECRET)).toBe(false);
      const yaml = resource.stateToYaml();
      expect(yaml.includes(SECRET)).toBe(false);
      expect(yaml).toContain(digestOf(SECRET, KEY));
      // Its container's label was made from the plain values: recreated once.
      const observed: ObservedState = {
        app: {
          status: { id: "c1", status: "running" },
          configHash: configHash(app.container.config, app.container.runtime),
          files: { ...sealState(desired, KEY)["app"]?.configFiles },
          mounts: {},
        },
      };
      expect(plan(sealState(desired, KEY), sealState(legacy, KEY, desired), observed).changes[0]?.reasons).toEqual([
        "container was changed outside berth (configuration label differs from the recorded one)",
      ]);
    } finally {
      await resource.close();
    }
  });
});

describe("saved plans with secrets", () => {
  test("a plan with a sensitive diff line and secret digests in its basis reads back as saved", async () => {
    const { readPlanFile } = await import("../../store/plan-file.ts");
    const file = join(tempDir(), "p.json");
    const h = "a".repeat(64);
    const p = {
      changes: [{
        name: "app",
        action: "recreate" as const,
        host: "local",
        reasons: ["container configuration changed"],
        diff: [{ op: "~" as const, path: "env.DB_PASSWORD", sensitive: true as const }],
        files: [],
        directories: [],
      }],
      summary: { recreate: 1 },
      empty: false,
      basis: {
        state: h,
        desired: h,
        observed: {},
        secrets: { 'container "app" env.DB_PASSWORD': digestOf(SECRET, KEY) },
      },
    };
    await writePlanFile(file, p);
    expect((await readPlanFile(file)).plan).toEqual(p);
  });
});

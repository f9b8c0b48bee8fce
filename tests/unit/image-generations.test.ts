/**
 * Image policy, image identity and generations as pure logic: the config's
 * `pull:`, the state's `image`/`previous` round trip, the plan of a moved
 * tag, what apply carries and records, and the desired state of a rollback.
 */
import { describe, expect, test } from "../support/harness.ts";
import { problemsOf } from "../support/errors.ts";
import { configFromDocument } from "../../core/config.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { digestOf } from "../../core/sensitive.ts";
import { parseDocument, stateFromDocument, stateToYaml } from "../../core/serialize.ts";
import { carryRecords, withGeneration } from "../../engine/generations.ts";
import { plan } from "../../engine/plan.ts";
import { rollbackState } from "../../engine/rollback.ts";
import { identityOf } from "../../runtimes/image-reference.ts";

const config = (text: string) => configFromDocument(parseDocument(text, "config.yaml"), "config.yaml", { env: {} });

function entry(image: string, env: Record<string, string> = {}, id = "c1"): HostConfiguredContainer {
  return {
    container: { config: { name: "web", image, env }, status: { id, status: "running" } },
    host: { directConfig: {} },
  };
}

describe("pull:", () => {
  const base = "hosts: { local: { direct: {} } }\ncontainers:\n  web: { host: local, image: app:1 }\n";

  test("a top-level pull is every container's default; a container's own wins", () => {
    const both = config(`pull: always\n${base}  db: { host: local, image: db:1, pull: never }\n`);
    expect(both.desiredState["web"]?.container.config.pull).toBe("always");
    expect(both.desiredState["db"]?.container.config.pull).toBe("never");
    expect(config(base).desiredState["web"]?.container.config.pull).toBeUndefined();
  });

  test("a bad policy is refused naming the field and the choices", () => {
    expect(problemsOf(() => config(`pull: sometimes\n${base}`))).toEqual([
      { path: "pull", message: '"sometimes" is not a valid pull policy: use one of missing, always, never' },
    ]);
  });

  test("the policy is not part of the container's identity", () => {
    const web = entry("app:1").container.config;
    expect(configHash({ ...web, pull: "always" })).toBe(configHash(web));
  });
});

describe("image identity in the state", () => {
  test("image and previous round-trip through state.yaml; an entry without them is written as before", () => {
    const plain = { web: entry("app:2") };
    const before = stateToYaml(plain);
    expect(before).not.toContain("image:\n");
    const state: ContainersState = {
      web: {
        ...entry("app:2"),
        container: {
          ...entry("app:2").container,
          image: { id: "sha256:22", digest: "app@sha256:d2" },
          previous: { config: { name: "web", image: "app:1" }, image: { id: "sha256:11" }, configFiles: { "/b": "2" } },
        },
      },
    };
    const text = stateToYaml(state);
    expect(stateFromDocument(parseDocument(text, "state.yaml"), "state.yaml")).toEqual(state);
    expect(stateToYaml(stateFromDocument(parseDocument(text, "state.yaml"), "state.yaml"))).toBe(text);
    expect(stateToYaml(plain)).toBe(before);
  });

  test("the repo digest of the reference's repository is picked, also for Docker Hub's short names", () => {
    expect(identityOf("busybox", "sha256:1", ["other@sha256:0", "busybox@sha256:2"])).toEqual({
      id: "sha256:1",
      digest: "busybox@sha256:2",
    });
    expect(identityOf("app:1", "sha256:1", [])).toEqual({ id: "sha256:1" });
  });
});

describe("pull: always in the plan", () => {
  const recorded = (digest: string) => ({
    web: { ...entry("app:1"), container: { ...entry("app:1").container, image: { id: "sha256:11", digest } } },
  });
  const want = {
    web: {
      ...entry("app:1"),
      container: { config: { name: "web", image: "app:1", pull: "always" as const, env: {} } },
    },
  };
  const observed = (registryDigest?: string) => ({
    web: {
      status: { id: "c1", status: "running" },
      files: {},
      mounts: {},
      ...(registryDigest ? { registryDigest } : {}),
    },
  });

  test("a tag the registry now serves as another image is a recreate showing both", () => {
    const p = plan(want, recorded("app@sha256:old"), observed("sha256:new"));
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([{
      op: "~",
      path: "image (pulled)",
      before: "sha256:11 (app@sha256:old)",
      after: "app@sha256:new (its ID is known once pulled)",
    }]);
  });

  test("the same digest, or no answer from the registry, is nothing to do", () => {
    expect(plan(want, recorded("app@sha256:old"), observed("sha256:old")).empty).toBe(true);
    expect(plan(want, recorded("app@sha256:old"), observed()).empty).toBe(true);
  });
});

describe("generations", () => {
  test("a recreate records the image and keeps what it replaced; same config and image keep the older generation", () => {
    const old = { ...entry("app:1"), container: { ...entry("app:1").container, image: { id: "sha256:11" } } };
    const made = withGeneration(entry("app:2", {}, "c2"), { id: "sha256:22" }, old);
    expect(made.container.image).toEqual({ id: "sha256:22" });
    expect(made.container.previous).toEqual({ config: old.container.config, image: { id: "sha256:11" } });
    // The same container again (it was removed by hand): its previous generation stays the one before.
    const again = withGeneration(entry("app:2", {}, "c3"), { id: "sha256:22" }, made);
    expect(again.container.previous).toEqual(made.container.previous);
  });

  test("image and previous follow a container while its id stays, not after a recreate", () => {
    const kept = { ...entry("app:1"), container: { ...entry("app:1").container, image: { id: "sha256:11" } } };
    const now: ContainersState = { a: entry("app:1"), b: entry("app:1", {}, "new") };
    carryRecords({ a: kept, b: kept }, now);
    expect(now["a"]?.container.image).toEqual({ id: "sha256:11" });
    expect(now["b"]?.container.image).toBeUndefined();
  });
});

describe("rollbackState()", () => {
  const key = new Uint8Array(32).fill(7);
  const state = (env: Record<string, string>): ContainersState => ({
    web: {
      ...entry("app:2", { LEVEL: "2" }),
      container: {
        ...entry("app:2", { LEVEL: "2" }).container,
        previous: { config: { name: "web", image: "app:1", env }, image: { id: "sha256:11" } },
      },
    },
    db: entry("db:1"),
  });

  test("pins the recorded image (by ID: it must still be there) and returns only the rolled-back containers", () => {
    const back = rollbackState(state({ LEVEL: "1" }), {}, []);
    expect(Object.keys(back)).toEqual(["web"]);
    expect(back["web"]?.container.config).toEqual({
      name: "web",
      image: "sha256:11",
      pull: "never",
      env: { LEVEL: "1" },
    });
  });

  test("a secret comes back from the config when its digest matches, else rollback refuses and says why", () => {
    const sealed = { TOKEN: digestOf("s3cret", key) };
    const configured = { web: entry("app:2", { TOKEN: "s3cret" }) };
    const back = rollbackState(state(sealed), configured, ["web"], key);
    expect(back["web"]?.container.config.env).toEqual({ TOKEN: "s3cret" });
    expect(back["web"]?.sensitive).toEqual({ env: ["TOKEN"] });
    expect(() => rollbackState(state(sealed), { web: entry("app:2", { TOKEN: "other" }) }, ["web"], key)).toThrow(
      /env var TOKEN was a secret, whose earlier value berth never stores/,
    );
  });

  test("an unknown name or one without a previous generation is refused", () => {
    expect(() => rollbackState(state({}), {}, ["wbe"])).toThrow(
      /No container "wbe" in the state: did you mean "web"\?/,
    );
    expect(() => rollbackState(state({}), {}, ["db"])).toThrow(/"db" has no previous generation/);
    expect(() => rollbackState({ db: entry("db:1") }, {}, [])).toThrow(/Nothing to roll back/);
  });
});

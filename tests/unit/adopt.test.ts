import { adoptUnrecorded } from "../../engine/adopt.ts";
import { configHash } from "../../core/hash.ts";
import type { ContainersState } from "../../core/model.ts";
import type { ObservedState } from "../../engine/observe.ts";
import { describe, expect, test } from "../support/harness.ts";

const want: ContainersState = {
  web: { container: { config: { name: "web", image: "nginx:1.25" } }, host: { directConfig: {} } },
};
const hash = configHash({ name: "web", image: "nginx:1.25" });
const held = (extra: Partial<NonNullable<ObservedState[string]["nameHolder"]>>): ObservedState => ({
  web: {
    files: {},
    mounts: {},
    nameHolder: { id: "abc123", status: "running", managed: true, configHash: hash, ...extra },
  },
});

describe("adoptUnrecorded()", () => {
  test("an unrecorded berth container with the wanted configuration hash is recorded, with its id and status", () => {
    const { previous, adopted } = adoptUnrecorded({}, want, held({}));
    expect(adopted).toEqual([{ name: "web", host: "local", id: "abc123", status: "running" }]);
    expect(previous["web"]?.container.status).toEqual({ id: "abc123", status: "running" });
  });

  test("a recorded container that is gone is replaced by the unrecorded one", () => {
    const prev: ContainersState = {
      web: { ...want["web"]!, container: { ...want["web"]!.container, status: { id: "old", status: "running" } } },
    };
    const observed = held({});
    observed["web"]!.status = { id: "old", status: "gone" };
    expect(adoptUnrecorded(prev, want, observed).previous["web"]?.container.status?.id).toBe("abc123");
  });

  test("another hash, a container berth did not create, a live recorded one, or an unreachable host: nothing adopted", () => {
    expect(adoptUnrecorded({}, want, held({ configHash: "other" })).adopted).toEqual([]);
    expect(adoptUnrecorded({}, want, held({ managed: false })).adopted).toEqual([]);
    const live = held({});
    live["web"]!.status = { id: "x", status: "running" };
    expect(adoptUnrecorded({}, want, live).adopted).toEqual([]);
    const down = held({});
    down["web"]!.error = "unreachable";
    expect(adoptUnrecorded({}, want, down).adopted).toEqual([]);
  });
});

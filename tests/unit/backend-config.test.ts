import { backendFromDocument, chooseBackend, parseEtcdUrl } from "../../core/backend-config.ts";
import { configFromDocument } from "../../core/config.ts";
import { describe, expect, test } from "../support/harness.ts";

const env = { HOME: "/home/op", ETCD_PW: "s3cret" };

describe("state backend settings", () => {
  test("etcd://h1:2379,h2:2379/prefix gives the endpoints and a prefix ending in /", () => {
    expect(parseEtcdUrl("etcd://10.0.0.1:2379,10.0.0.2:2379/berth/prod")).toEqual({
      endpoints: ["10.0.0.1:2379", "10.0.0.2:2379"],
      prefix: "/berth/prod/",
    });
    expect(parseEtcdUrl("etcd://e:2379")?.prefix).toBe("/berth/");
    expect(parseEtcdUrl("state.yaml")).toBe(undefined);
    expect(() => parseEtcdUrl("etcd:///x")).toThrow("no endpoint");
    let err: Error | undefined;
    try {
      parseEtcdUrl("etcd://me:s3cret@e:2379/x");
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toContain("no user or password in an etcd:// URL");
    expect(err?.message).not.toContain("s3cret");
  });

  test("backend: resolves ${env:} and relative paths, and a bad field is named with its fix", () => {
    const doc = {
      backend: {
        etcd: {
          endpoints: ["e1:2379"],
          ca: "certs/ca.pem",
          key: "~/k.pem",
          password: "${env:ETCD_PW}",
          lockTtl: "10s",
        },
      },
    };
    expect(backendFromDocument(doc, "config.yaml", { env, baseDir: "/etc/berth" })).toEqual({
      endpoints: ["e1:2379"],
      prefix: "/berth/",
      ca: "/etc/berth/certs/ca.pem",
      key: "/home/op/k.pem",
      password: "s3cret",
      lockTtlMs: 10_000,
    });
    expect(() => backendFromDocument({ backend: { etcd: { endpoint: ["e"] } } }, "c.yaml", { env, baseDir: "/" }))
      .toThrow("backend.etcd.endpoint: unknown field");
    expect(() =>
      backendFromDocument({ backend: { etcd: { endpoints: ["e"], lockTtl: "1s" } } }, "c.yaml", { env, baseDir: "/" })
    ).toThrow("at least 2s");
    expect(() =>
      backendFromDocument({ backend: { etcd: { endpoints: ["e"], password: "${env:NOPE}" } } }, "c.yaml", {
        env,
        baseDir: "/",
      })
    ).toThrow("environment variable NOPE is not set");
  });

  test("the whole config accepts a backend: section", () => {
    const doc = { backend: { etcd: { endpoints: ["e1:2379"] } }, hosts: { l: { direct: {} } }, containers: {} };
    expect(configFromDocument(doc, "config.yaml", { env }).desiredState).toEqual({});
  });

  test("an etcd:// --state takes credentials from backend:; a path given on the command line wins over backend:", () => {
    const fromConfig = { endpoints: ["old:2379"], prefix: "/a/", user: "u", password: "p" };
    expect(chooseBackend("etcd://new:2379/b", true, fromConfig)).toEqual({
      etcd: { endpoints: ["new:2379"], prefix: "/b/", user: "u", password: "p" },
    });
    expect(chooseBackend("state.yaml", false, fromConfig)).toEqual({ etcd: fromConfig });
    expect(chooseBackend("other.yaml", true, fromConfig)).toEqual({ file: "other.yaml" });
    expect(chooseBackend("state.yaml", false, undefined)).toEqual({ file: "state.yaml" });
  });
});

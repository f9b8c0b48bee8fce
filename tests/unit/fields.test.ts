import { describe, expect, test } from "../support/harness.ts";
import { configFromDocument } from "../../core/config.ts";
import { CONTAINER_FIELDS } from "../../core/fields.ts";
import { canonicalConfig, configHash } from "../../core/hash.ts";
import type { ContainerConfig, HostConfiguredContainer } from "../../core/model.ts";
import { parseDocument, stateFromDocument, stateToYaml } from "../../core/serialize.ts";
import type { Fields } from "../../core/shape.ts";
import { DOCKER_FIELDS, HCC_FIELDS, KUBELET_FIELDS, sshFields, validateContainers } from "../../core/validate.ts";
import { plan } from "../../engine/plan.ts";
import { createBody, DOCKER_MAPPING } from "../../runtimes/docker/create-body.ts";
import { checkSupported, CRI_MAPPING, podSpec } from "../../runtimes/kubelet/pod-spec.ts";

/** Declared fields a runtime's mapping neither maps nor refuses, and mapped names that are not declared. */
function unmapped(declared: readonly string[], mapping: Record<string, unknown>): string[] {
  const handled = (key: string) => {
    const entry = mapping[key];
    if (typeof entry === "function") return true;
    return typeof entry === "object" && entry !== null &&
      (typeof (entry as { map?: unknown }).map === "function" ||
        typeof (entry as { refuse?: unknown }).refuse === "function");
  };
  return [
    ...declared.filter((key) => !Object.hasOwn(mapping, key) || !handled(key)),
    ...Object.keys(mapping).filter((key) => !declared.includes(key)).map((key) => `${key} (not declared)`),
  ];
}

const DECLARED = Object.keys(CONTAINER_FIELDS);
const WEB: ContainerConfig = { name: "web", image: "nginx:1.25", workingDir: "/srv/www" };

describe("the field table", () => {
  test("every declared field is mapped by the Docker runtime", () => {
    expect(unmapped(DECLARED, DOCKER_MAPPING)).toEqual([]);
  });

  test("every declared field is mapped or refused by the CRI runtime", () => {
    expect(unmapped(DECLARED, CRI_MAPPING)).toEqual([]);
  });

  test("a field declared but not mapped is caught", () => {
    // The check above would fail for a new field a runtime forgot.
    expect(unmapped([...DECLARED, "futureField"], DOCKER_MAPPING)).toEqual(["futureField"]);
    expect(unmapped([...DECLARED, "futureField"], { ...CRI_MAPPING, futureField: {} })).toEqual(["futureField"]);
  });

  test("the secrets are declared sensitive, and what is declared so never reaches state.yaml", () => {
    const always = (fields: Fields) =>
      Object.entries(fields).filter(([, f]) => f.sensitive === "always").map(([k]) => k);
    expect(always(sshFields("host"))).toEqual(["password", "privateKey", "passphrase"]);
    expect(always(DOCKER_FIELDS)).toEqual(["registryAuth"]);
    expect(always(KUBELET_FIELDS)).toEqual(["registryAuth"]);
    expect(HCC_FIELDS["configFiles"]?.sensitive).toBe("when-referenced");
    const auth = { "docker.io": { username: "u", password: "SECRET-5" } };
    const yaml = stateToYaml({
      a: {
        container: { config: WEB, runtime: { docker: { registryAuth: auth } } },
        host: {
          sshConfig: {
            address: "h",
            password: "SECRET-1",
            privateKey: "SECRET-2",
            passphrase: "SECRET-3",
            jump: [{ address: "b", password: "SECRET-4" }],
          },
        },
      },
      k: { container: { config: WEB, runtime: { kubelet: { registryAuth: auth } } }, host: { directConfig: {} } },
    });
    expect(yaml).not.toContain("SECRET");
    expect(yaml).not.toContain("registryAuth");
  });

  test("env values are flagged for the secrets work; no other container field is", () => {
    const flagged = Object.entries(CONTAINER_FIELDS).filter(([, f]) => f.sensitive !== "never").map(([k]) => k);
    expect(flagged).toEqual(["env"]);
  });
});

function hcc(config: ContainerConfig, id?: string): HostConfiguredContainer {
  return {
    container: { config, ...(id === undefined ? {} : { status: { id, status: "running" } }) },
    host: { directConfig: {} },
  };
}

describe("workingDir, end to end", () => {
  test("config.yaml's workingDir reaches the model", () => {
    const doc = parseDocument(
      "hosts: { local: { direct: {} } }\ncontainers: { web: { host: local, image: nginx:1.25, workingDir: /srv/www } }",
      "config.yaml",
    );
    expect(configFromDocument(doc, "config.yaml").desiredState["web"]?.container.config).toEqual(WEB);
  });

  test("a relative workingDir is refused with its path and the fix", () => {
    const problems = validateContainers({ desiredState: { web: hcc({ ...WEB, workingDir: "srv" }) } });
    expect(problems).toEqual([{
      path: "desiredState.web.container.config.workingDir",
      message: 'expected an absolute path (starting with "/"), got "srv"',
    }]);
    expect(validateContainers({ desiredState: { web: hcc({ ...WEB, workingDir: 7 as unknown as string }) } })[0])
      .toMatchObject({
        path: "desiredState.web.container.config.workingDir",
        message: 'expected a string, got a number; quote it ("7")',
      });
  });

  test("workingDir is part of the identity hash; leaving it out keeps the old hash", () => {
    const { workingDir: _, ...without } = WEB;
    expect(configHash(WEB)).not.toBe(configHash(without));
    expect(configHash({ ...without, workingDir: "" })).toBe(configHash(without));
    expect(canonicalConfig(WEB).workingDir).toBe("/srv/www");
  });

  test("changing workingDir recreates the container, with a diff line", () => {
    const p = plan({ web: hcc({ ...WEB, workingDir: "/srv" }) }, { web: hcc(WEB, "abc") }, {
      web: { status: { id: "abc", status: "running" }, files: {}, mounts: {} },
    });
    expect(p.changes[0]?.action).toBe("recreate");
    expect(p.changes[0]?.diff).toEqual([{ op: "~", path: "workingDir", before: '"/srv/www"', after: '"/srv"' }]);
  });

  test("state.yaml keeps workingDir, after entrypoint, and reads it back", () => {
    const config: ContainerConfig = { ...WEB, entrypoint: ["nginx"], args: ["-g", "daemon off;"] };
    const yaml = stateToYaml({ web: hcc(config, "abc") });
    expect(yaml).toContain("entrypoint:\n          - nginx\n        workingDir: /srv/www\n");
    expect(stateFromDocument(parseDocument(yaml, "state.yaml"), "state.yaml")["web"]?.container.config).toEqual(
      config,
    );
  });

  test("Docker gets WorkingDir, CRI gets workingDir", () => {
    expect(createBody(WEB, {}).WorkingDir).toBe("/srv/www");
    expect(createBody({ name: "web", image: "nginx" }, {}).WorkingDir).toBeUndefined();
    const cri = { ...WEB, networkMode: "host" };
    checkSupported(cri);
    expect(podSpec(cri, {}).container.workingDir).toBe("/srv/www");
  });
});

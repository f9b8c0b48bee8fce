/**
 * Image policy, identity and rollback on containerd through CRI (issue 13,
 * part A): the state records the image ID ImageStatus reports, `pull: never`
 * fails a change whose image is absent and leaves the old container running,
 * and a rollback returns the env var and the image (pinned by ID). Checked
 * through a separate CRI connection and containerd's own `ctr` view.
 */
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { ContainersResource } from "../../engine/containers.ts";
import { rollbackState } from "../../engine/rollback.ts";
import { criClient } from "../../runtimes/kubelet/cri-client.ts";
import { grpcClient } from "../../runtimes/kubelet/grpc.ts";
import { directTransport } from "../../transports/direct.ts";
import { containerdView } from "../support/engine-view.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { loadCriEnv } from "./kubelet-env.ts";

const cri = loadCriEnv();
const transport = directTransport();
const rawGrpc = grpcClient({
  open: () => transport.openUnixSocket(cri.local.socket),
  description: "containerd (test view)",
});
const raw = criClient(rawGrpc);
const view = containerdView(cri.local.socket);
const runtime = { kubelet: { address: `unix://${cri.local.socket}` } };
const name = `bt-kimg-${process.pid}`;
const key = new Uint8Array(32).fill(3);

function desired(image: string, level: string, pull?: "never"): ContainersState {
  const hcc: HostConfiguredContainer = {
    container: {
      config: {
        name,
        image,
        networkMode: "host",
        entrypoint: ["sh", "-c"],
        args: ["trap 'exit 0' TERM; while :; do sleep 1; done"],
        env: { LEVEL: level },
        ...(pull === undefined ? {} : { pull }),
      },
      runtime,
    },
    host: { directConfig: {} },
  };
  return { app: hcc };
}

let state: ContainersState = {};
/** Plans and applies `want`; the messages of the changes that failed. */
async function converge(want: ContainersState, previous = state): Promise<string[]> {
  const resource = new ContainersResource({ previousState: previous, desiredState: want }, { digestKey: key });
  try {
    await resource.checkCurrentState();
    const result = await resource.apply();
    state = { ...state, ...result.state };
    return result.results.filter((r) => !r.ok).map((r) => r.error?.message ?? "not done");
  } finally {
    await resource.close();
  }
}

afterAll(async () => {
  await converge({});
  await rawGrpc.close();
  await transport.close();
}, 60_000);

describe("image identity and policy on CRI", () => {
  let firstId = "";

  test("the state records the image ID that ImageStatus reports", async () => {
    expect(await converge(desired(cri.image, "1", "never"))).toEqual([]);
    firstId = (await raw.imageInfo(cri.image))?.id as string;
    expect(firstId).toMatch(/^sha256:/);
    expect(state["app"]?.container.image?.id).toBe(firstId);
  }, 60_000);

  test("pull: never with an absent image fails the change with the fix; the old container runs on", async () => {
    const before = await view.inspect(name);
    const absent = `${cri.image.replace(/:.*$/, "")}:absent-${process.pid}`;
    const failed = await converge(desired(absent, "1", "never"));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(
      `image "${absent}" is not on host local and the container's pull policy is never: load or pull it there first`,
    );
    const after = await view.inspect(name);
    expect([after?.id, after?.status]).toEqual([before?.id, "running"]);
  }, 60_000);

  test("rollback returns a changed env var; the image is pinned by its recorded ID", async () => {
    expect(await converge(desired(cri.image, "2"))).toEqual([]);
    expect(state["app"]?.container.previous?.config.env).toEqual({ LEVEL: "1" });
    const back = rollbackState(state, desired(cri.image, "2"), ["app"], key);
    expect(back["app"]?.container.config.image).toBe(firstId);
    expect(await converge(back)).toEqual([]);
    // What containerd runs in the app's sandbox now: its image and its process environment.
    const sandbox = (await view.inspect(name))?.id as string;
    const [running] = (await raw.listContainers({ podSandboxId: sandbox })).filter((c) =>
      c.state === "CONTAINER_RUNNING"
    );
    expect(running?.imageRef).toBe(firstId);
    expect(await raw.containerEnv(running?.id as string)).toContain("LEVEL=1");
    expect(state["app"]?.container.image?.id).toBe(firstId);
  }, 60_000);
});

/**
 * store/state-file.ts's writeStateFile (writeStateText for a text already
 * made: the write an apply makes after every step): the file it leaves reads back as the state, mode 0600, no temp
 * file beside it; an unchanged state leaves the file alone (same inode: not
 * replaced); a changed one replaces it (a new inode, as rename makes).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainersState } from "../../core/model.ts";
import { readStateFile, writeStateFile } from "../../store/state-file.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";

const dir = mkdtempSync(join(tmpdir(), "berth-state-write-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stateWith(image: string): ContainersState {
  return {
    web: {
      container: { config: { name: "web", image }, status: { id: "a".repeat(64), status: "running" } },
      host: { directConfig: {} },
    },
  } as ContainersState;
}

describe("writeStateFile()", () => {
  test("writes the state (0600, no temp left), skips an unchanged one, replaces a changed one", async () => {
    const path = join(dir, "state.yaml");
    await writeStateFile(path, stateWith("nginx:1"));
    const first = statSync(path);
    expect(first.mode & 0o777).toBe(0o600);
    expect((await readStateFile(path)).state.web?.container.config.image).toBe("nginx:1");

    await writeStateFile(path, stateWith("nginx:1"));
    expect(statSync(path).ino).toBe(first.ino);

    await writeStateFile(path, stateWith("nginx:2"));
    expect(statSync(path).ino).not.toBe(first.ino);
    expect((await readStateFile(path)).state.web?.container.config.image).toBe("nginx:2");
    expect(readdirSync(dir)).toEqual(["state.yaml"]);
  });

  test("a directory it cannot write to fails with the path and leaves nothing", async () => {
    const path = join(dir, "missing", "state.yaml");
    await expect(writeStateFile(path, stateWith("nginx:1"))).rejects.toThrow(
      /Cannot write state file ".*missing\/state\.yaml" \(the previous one is unchanged\)/,
    );
  });
});

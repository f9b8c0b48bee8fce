/**
 * Hostile tar archives read back through the Docker plugin: an engine (a
 * fake one, so the archive can say anything) answers `GET .../archive` with
 * entries that escape (`../`, absolute), links, or several files. berth
 * must refuse them with UNSAFE_PATH / BAD_PARAMETER and write nothing.
 * (The real engine's symlink case is in tests/integration/docker.test.ts.)
 */
import * as tar from "tar-stream";
import { BerthError } from "../../core/errors.ts";
import { dockerRuntime } from "../../runtimes/docker/mod.ts";
import { directTransport } from "../../transports/direct.ts";
import { fakeEngine, type FakePeer } from "../support/fake-peers.ts";
import { loadTestEnv } from "../support/env.ts";
import { afterAll, describe, expect, test } from "../support/harness.ts";
import { endWithCensus } from "./fleet.ts";
import { saveTally, tally } from "./tally.ts";

type Entry = Partial<tar.Header> & { name: string; content?: string };

async function archive(entries: Entry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, content ?? "", (err) => (err ? reject(err) : resolve()))
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const CASES: Array<{ name: string; entries: Entry[]; code: string }> = [
  { name: "a ../ entry", entries: [{ name: "../../etc/shadow", type: "file", content: "x" }], code: "UNSAFE_PATH" },
  { name: "an absolute entry", entries: [{ name: "/etc/passwd", type: "file", content: "x" }], code: "UNSAFE_PATH" },
  {
    name: "a symlink entry",
    entries: [{ name: "app.conf", type: "symlink", linkname: "/etc/shadow" }],
    code: "UNSAFE_PATH",
  },
  {
    name: "a hard link entry",
    entries: [{ name: "app.conf", type: "link", linkname: "../../etc/shadow" }],
    code: "UNSAFE_PATH",
  },
  {
    name: "a file then a ../ entry",
    entries: [{ name: "app.conf", type: "file", content: "ok" }, { name: "../x", type: "file", content: "x" }],
    code: "UNSAFE_PATH",
  },
  {
    name: "two files",
    entries: [{ name: "app.conf", type: "file", content: "a" }, { name: "other", type: "file", content: "b" }],
    code: "BAD_PARAMETER",
  },
  { name: "a directory", entries: [{ name: "app.conf/", type: "directory" }], code: "BAD_PARAMETER" },
  {
    name: "a device node",
    entries: [{ name: "app.conf", type: "character-device", devmajor: 1, devminor: 3 }],
    code: "BAD_PARAMETER",
  },
];

const engines: FakePeer[] = [];
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  saveTally(import.meta.url);
});

describe("hostile archives from the engine", () => {
  for (const c of CASES) {
    test(`\`readFiles()\` refuses an archive with ${c.name} (${c.code})`, async () => {
      tally("badInputs");
      const body = await archive(c.entries);
      const engine = await fakeEngine((method, path) =>
        method === "GET" && path.startsWith("/containers/x/archive")
          ? { status: 200, headers: { "Content-Type": "application/x-tar" }, body }
          : { status: 404, body: '{"message":"no such thing"}' }
      );
      engines.push(engine);
      const runtime = dockerRuntime({ host: engine.url }, { transport: directTransport(), hostLabel: "fake" });
      try {
        const err = await runtime.readFiles("x", ["/etc/app.conf"], { signal: AbortSignal.timeout(5_000) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(BerthError);
        expect((err as BerthError).code).toBe(c.code);
        expect((err as BerthError).message).toContain("/etc/app.conf");
      } finally {
        await runtime.close();
      }
    }, 15_000);
  }

  test("`readFiles()` accepts the one regular file the engine should send", async () => {
    const body = await archive([{ name: "app.conf", type: "file", content: "fine", mode: 0o600 }]);
    const engine = await fakeEngine(() => ({ status: 200, body }));
    engines.push(engine);
    const runtime = dockerRuntime({ host: engine.url }, { transport: directTransport(), hostLabel: "fake" });
    try {
      const [file] = await runtime.readFiles("x", ["/etc/app.conf"]);
      expect(new TextDecoder().decode(file?.content)).toBe("fine");
    } finally {
      await runtime.close();
    }
  });
});

// The archives come from fake engines: no real engine holds anything of berth's.
endWithCensus(loadTestEnv(), () => ({}));

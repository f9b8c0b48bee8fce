import { readFileSync } from "node:fs";
import { describe, expect, test } from "../support/harness.ts";

const json = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), "utf8"));

describe("published surface", () => {
  test("npm exports only mod.ts (as dist/mod.js); the CLI is the bin", () => {
    const pkg = json("package.json");
    expect(Object.keys(pkg.exports)).toEqual(["."]);
    expect(pkg.exports["."].default).toBe("./dist/mod.js");
    expect(pkg.bin.berth).toBe("dist/cli.js");
  });
  test("JSR exports only mod.ts and the CLI entry: no other module is importable from the package", () => {
    const deno = json("deno.json");
    expect(deno.exports).toEqual({ ".": "./mod.ts", "./cli": "./cli.ts" });
  });
});

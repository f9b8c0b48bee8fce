import { readFileSync } from "node:fs";
import { describe, expect, test } from "../support/harness.ts";
import { VERSION } from "../../version.ts";

describe("VERSION", () => {
  test("VERSION equals the version in package.json and deno.json", () => {
    const read = (file: string) => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")).version;
    expect(read("package.json")).toBe(VERSION);
    expect(read("deno.json")).toBe(VERSION);
  });
});

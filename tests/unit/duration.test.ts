import { describe, expect, test } from "../support/harness.ts";
import { parseDuration } from "../../core/duration.ts";

describe("parseDuration()", () => {
  test("parseDuration() reads Go-style durations", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
  });
  test("parseDuration() rejects text without a unit", () => {
    expect(() => parseDuration("30")).toThrow('Cannot parse duration "30"');
  });
});

import { describe, expect, test } from "../support/harness.ts";
import { HostSlots } from "../../engine/host-slots.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

/** A step that logs its start and end, holding its slot for `work` ticks and waiting `gate` ticks outside it. */
function step(slots: HostSlots, log: string[], name: string, work: number, gate = 0) {
  return async () => {
    log.push(`+${name}`);
    for (let i = 0; i < work; i++) await tick();
    if (gate > 0) {
      await slots.outside("h", async () => {
        log.push(`gate ${name}`);
        for (let i = 0; i < gate; i++) await tick();
      });
      log.push(`back ${name}`);
    }
    log.push(`-${name}`);
  };
}

/** Most steps at work (holding a slot) at once, from a log of +start, gate (out), back (in), -end. */
function mostAtWork(log: string[]): number {
  let now = 0;
  let most = 0;
  for (const line of log) {
    if (line.startsWith("+") || line.startsWith("back")) now++;
    if (line.startsWith("gate") || line.startsWith("-")) now--;
    most = Math.max(most, now);
  }
  return most;
}

describe("HostSlots", () => {
  test("at most the limit of a host's steps are at work at once, started in order", async () => {
    const slots = new HostSlots(2);
    const log: string[] = [];
    await slots.run("h", ["a", "b", "c", "d", "e"].map((n) => step(slots, log, n, 2)));
    expect(log.filter((l) => l.startsWith("+"))).toEqual(["+a", "+b", "+c", "+d", "+e"]);
    expect(mostAtWork(log)).toBe(2);
  });

  test("a step waiting for its gate lets the next begin, and comes back ahead of steps not yet started", async () => {
    const slots = new HostSlots(1);
    const log: string[] = [];
    await slots.run("h", [step(slots, log, "a", 1, 3), step(slots, log, "b", 6), step(slots, log, "c", 1)]);
    // b begins while a waits; a's end comes before c's start: c waited behind a's return.
    expect(log.indexOf("+b")).toBeLessThan(log.indexOf("-a"));
    expect(log.indexOf("-a")).toBeLessThan(log.indexOf("+c"));
    expect(log.indexOf("-b")).toBeLessThan(log.indexOf("-a"));
    expect(mostAtWork(log)).toBe(1);
  });

  test("hosts have their own slots; a failed step fails the run once all settled", async () => {
    const slots = new HostSlots(1);
    const log: string[] = [];
    const other = slots.run("g", [step(slots, log, "x", 3)]);
    const failing = slots.run("h", [
      () => Promise.reject(new Error("boom")),
      step(slots, log, "y", 1),
    ]);
    await expect(failing).rejects.toThrow("boom");
    await other;
    expect(log).toEqual(["+x", "+y", "-y", "-x"]);
  });
});

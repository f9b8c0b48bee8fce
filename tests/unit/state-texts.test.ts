/**
 * core/state-texts.ts keeps each entry's text between writes: what it
 * writes is checked against stateText() (which emits the whole state), in
 * both layouts, on odd names and values, sealed entries, and over a run of
 * writes that replace, add, remove and move entries.
 */
import fc from "fast-check";
import { describe, expect, test } from "../support/harness.ts";
import type { ContainersState, HostConfiguredContainer } from "../../core/model.ts";
import { type StateFormat, stateText } from "../../core/state-format.ts";
import { StateTexts } from "../../core/state-texts.ts";

/** Names and values the emitter quotes, escapes or writes as blocks; integer-like names an object lists first. */
const ODD = [
  "a",
  "b b",
  "10",
  "9",
  "0",
  "-1",
  "1.5",
  "---",
  "x: y",
  "#c",
  "it's",
  'q"',
  "two\nlines",
  "é",
  "k".repeat(1030),
];

const entry = (name: string, value: string, i: number): HostConfiguredContainer => ({
  container: {
    config: { name, image: "busybox", args: ["sh", "-c", value], env: { A: value, PW: `secret ${i}` } },
    status: { id: `id${i}`, status: "running" },
  },
  host: i % 2 === 0
    ? { sshConfig: { address: `10.0.0.${i % 250}`, user: "root", password: "hunter2" } }
    : { directConfig: {} },
  configFiles: { "/etc/app.conf": value },
  ...(i % 3 === 0 ? { sensitive: { env: ["PW"] } } : {}),
});

const FORMATS: StateFormat[] = ["berth", "flexkube"];
const KEY = new Uint8Array(32).fill(7);

describe("StateTexts", () => {
  test("writes stateText()'s bytes on odd names and values, in both layouts, with and without a digest key", () => {
    const state: ContainersState = {};
    ODD.forEach((name, i) => (state[name] = entry(name, ODD[(i + 3) % ODD.length] as string, i)));
    for (const format of FORMATS) {
      for (const key of [undefined, KEY]) {
        const texts = new StateTexts(key);
        const want = stateText(state, format, key === undefined ? {} : { digestKey: key });
        expect(texts.bytes(state, format).toString()).toBe(want);
        expect(texts.bytes(state, format).toString()).toBe(want); // the second time from what it kept
        expect(want).not.toContain("hunter2");
      }
      expect(new StateTexts().bytes({}, format).toString()).toBe(stateText({}, format));
    }
  });

  test("stays stateText() over a run of writes that replace, add, remove and move entries", () => {
    const step = fc.tuple(fc.constantFrom("replace", "add", "remove", "move"), fc.nat(), fc.constantFrom(...ODD));
    fc.assert(
      fc.property(fc.constantFrom(...FORMATS), fc.array(step, { maxLength: 12 }), (format, steps) => {
        const state: ContainersState = {};
        ODD.slice(0, 6).forEach((name, i) => (state[name] = entry(name, "v", i)));
        const texts = new StateTexts();
        let n = 100;
        for (const [what, at, value] of steps) {
          const names = Object.keys(state);
          const name = names[at % Math.max(names.length, 1)];
          if (what === "add" || name === undefined) state[`${value}${n}`] = entry(value, value, n);
          else if (what === "replace") state[name] = entry(name, value, n);
          else if (what === "remove") delete state[name];
          else { // the same entry object under another name
            state[value] = state[name] as HostConfiguredContainer;
            delete state[name];
          }
          n++;
          expect(texts.bytes(state, format).toString()).toBe(stateText(state, format));
        }
      }),
      { numRuns: 300 },
    );
  });
});

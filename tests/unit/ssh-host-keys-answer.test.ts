/**
 * transports/ssh/hop.ts's answerHostKeys(): once ssh2 reports the server's
 * proved host keys, one keepalive packet goes out, with its reply's
 * placeholder queued as ssh2's own keepalive queues it; a client without
 * those internals gets nothing sent and no error. (What it saves, the
 * server's held reply, is measured in bench/results/trace.md.)
 */
import { EventEmitter } from "node:events";
import type { Client } from "ssh2";
import { answerHostKeys } from "../../transports/ssh/hop.ts";
import { describe, expect, test } from "../support/harness.ts";

describe("answerHostKeys()", () => {
  test("sends one keepalive when the host keys are proved, its reply's place queued first", () => {
    const sent: string[] = [];
    const callbacks: Array<() => void> = [];
    const client = Object.assign(new EventEmitter(), {
      _protocol: { ping: () => sent.push(`ping after ${callbacks.length} queued`) },
      _callbacks: callbacks,
    });
    answerHostKeys(client as unknown as Client);
    expect(sent).toEqual([]);
    client.emit("hostkeys", []);
    expect(sent).toEqual(["ping after 1 queued"]);
  });

  test("a client without ssh2's internals: nothing sent, no error", () => {
    const client = new EventEmitter();
    answerHostKeys(client as unknown as Client);
    expect(() => client.emit("hostkeys", [])).not.toThrow();
  });
});

/**
 * transports/ssh/hop.ts's answerHostKeys(): once ssh2 reports the server's
 * proved host keys, one SSH_MSG_IGNORE goes out through ssh2's write buffer
 * and cipher, as its own keepalive is sent; none during a key exchange, and
 * a client without those internals gets nothing sent and no error. (What it
 * saves, the server's held reply, is measured in bench/results/trace.md.)
 */
import { EventEmitter } from "node:events";
import type { Client } from "ssh2";
import { answerHostKeys } from "../../transports/ssh/hop.ts";
import { describe, expect, test } from "../support/harness.ts";

/** A client whose protocol records what its cipher was given; packets start after a 5-byte header, as ssh2's do. */
function fakeClient(kexinit?: unknown) {
  const sent: number[][] = [];
  const write = {
    allocStart: 5,
    alloc: (size: number) => new Uint8Array(5 + size),
    finalize: (packet: Uint8Array) => packet.subarray(5),
  };
  const client = Object.assign(new EventEmitter(), {
    _protocol: { _kexinit: kexinit, _packetRW: { write }, _cipher: { encrypt: (p: Uint8Array) => sent.push([...p]) } },
  });
  return { client, sent };
}

describe("answerHostKeys()", () => {
  test("sends one SSH_MSG_IGNORE with an empty string when the host keys are proved", () => {
    const { client, sent } = fakeClient();
    answerHostKeys(client as unknown as Client);
    expect(sent).toEqual([]);
    client.emit("hostkeys", []);
    expect(sent).toEqual([[2, 0, 0, 0, 0]]);
  });

  test("sends nothing while a key exchange runs", () => {
    const { client, sent } = fakeClient({});
    answerHostKeys(client as unknown as Client);
    client.emit("hostkeys", []);
    expect(sent).toEqual([]);
  });

  test("a client without ssh2's internals: nothing sent, no error", () => {
    const client = new EventEmitter();
    answerHostKeys(client as unknown as Client);
    expect(() => client.emit("hostkeys", [])).not.toThrow();
  });
});

/**
 * The engine's multiplexed log stream: 8-byte frame headers (stream id,
 * three zero bytes, big-endian length) before each payload, when the
 * container has no TTY.
 *
 * @module
 */

/**
 * Splits a multiplexed log stream into stdout and stderr text. A stream
 * that does not start with a frame header (TTY containers) is all stdout.
 *
 * @example
 * ```ts
 * import { demultiplexLogs } from "./logs.ts";
 * const frame = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
 * if (demultiplexLogs(frame).stdout !== "hi") throw new Error("wrong");
 * ```
 */
export function demultiplexLogs(bytes: Uint8Array): { stdout: string; stderr: string } {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const kind = bytes[offset];
    if (
      (kind !== 0 && kind !== 1 && kind !== 2) || bytes[offset + 1] !== 0 || bytes[offset + 2] !== 0 ||
      bytes[offset + 3] !== 0
    ) {
      if (offset === 0) return { stdout: new TextDecoder().decode(bytes), stderr: "" };
      break;
    }
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 4, 4).getUint32(0);
    const payload = bytes.subarray(offset + 8, offset + 8 + length);
    (kind === 2 ? err : out).push(payload);
    offset += 8 + length;
  }
  const decode = (parts: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(parts));
  return { stdout: decode(out), stderr: decode(err) };
}

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

/**
 * The multiplexed stream as it arrives, in chunks cut anywhere: each frame's
 * payload is handed on once whole (a TTY container's stream, with no frame
 * headers, is all stdout, handed on as it comes).
 *
 * @example
 * ```ts
 * import { logFrames } from "./logs.ts";
 * let out = "";
 * const frames = logFrames((stream, text) => (out += `${stream}:${text};`));
 * frames.push(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 2, 104]));
 * frames.push(new Uint8Array([105, 1, 0, 0, 0, 0, 0, 0, 1, 33]));
 * frames.end();
 * if (out !== "stderr:hi;stdout:!;") throw new Error(out);
 * ```
 */
export function logFrames(
  onOutput: (stream: "stdout" | "stderr", text: string) => void,
): { push(chunk: Uint8Array): void; end(): void } {
  let pending: Uint8Array = new Uint8Array(0);
  let raw: boolean | undefined;
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const emit = (stream: "stdout" | "stderr", bytes: Uint8Array, more: boolean) => {
    const text = decoders[stream].decode(bytes, { stream: more });
    if (text !== "") onOutput(stream, text);
  };
  return {
    push(chunk) {
      if (raw === undefined && chunk.length > 0) raw = chunk[0] !== 0 && chunk[0] !== 1 && chunk[0] !== 2;
      if (raw === true) return emit("stdout", chunk, true);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        const length = new DataView(pending.buffer, pending.byteOffset + 4, 4).getUint32(0);
        if (pending.length < 8 + length) break;
        emit(pending[0] === 2 ? "stderr" : "stdout", pending.subarray(8, 8 + length), true);
        pending = pending.subarray(8 + length);
      }
    },
    end() {
      emit("stdout", new Uint8Array(0), false);
      emit("stderr", new Uint8Array(0), false);
    },
  };
}

/**
 * One HTTP/1.1 connection over any duplex stream: buffered reads with
 * back-pressure and idle timeouts, writes that wait for `drain`, and a
 * single failure that every pending read sees.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { BerthError } from "../../core/errors.ts";

const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;
const CRLF = Buffer.from("\r\n");

interface Refable {
  ref(): unknown;
  unref(): unknown;
}

/** A duplex stream with a read buffer; created by the pool, used by one request at a time. */
export class HttpConnection {
  readonly stream: Duplex;
  #chunks: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on("data", (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      this.#chunks.push(bytes);
      this.#queued += bytes.length;
      if (this.#queued > HIGH_WATER) stream.pause();
      this.#notify();
    });
    stream.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    stream.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    stream.on("error", (err: Error) => this.fail(err));
  }

  /** True when the connection can carry another request. */
  get reusable(): boolean {
    return this.#error === undefined && !this.#ended && !this.stream.destroyed && this.#queued === 0;
  }

  /** Fails every pending and future read with `err` and destroys the stream. */
  fail(err: Error): void {
    this.#error ??= err;
    this.stream.destroy();
    this.#notify();
  }

  /** Lets an idle connection not keep the process alive (when the stream supports it). */
  setIdle(idle: boolean): void {
    const s = this.stream as Partial<Refable>;
    if (typeof s.ref !== "function" || typeof s.unref !== "function") return;
    if (idle) s.unref();
    else s.ref();
  }

  /** Next chunk, or `null` at the end of the stream. Fails after `idleMs` without data (never when undefined). */
  async read(idleMs: number | undefined, what: string): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#queued -= chunk.length;
        if (this.#queued <= LOW_WATER && this.stream.isPaused()) this.stream.resume();
        return chunk;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => {
        const timer = idleMs === undefined ? undefined : setTimeout(() => {
          this.fail(new BerthError("TIMEOUT", `${what}: no data for ${idleMs} ms`));
        }, idleMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Puts bytes back in front of the buffer. */
  unread(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.unshift(chunk);
    this.#queued += chunk.length;
  }

  /** At most `max` bytes (at least one), or `null` at the end of the stream. */
  async readUpTo(max: number, idleMs: number | undefined, what: string): Promise<Buffer | null> {
    const chunk = await this.read(idleMs, what);
    if (chunk === null || chunk.length <= max) return chunk;
    this.unread(chunk.subarray(max));
    return chunk.subarray(0, max);
  }

  /** Bytes up to `delimiter` (excluded, consumed); throws past `limit` bytes or at end of stream. */
  async readUntil(delimiter: Buffer, limit: number, idleMs: number | undefined, what: string): Promise<Buffer> {
    let buffered: Buffer = Buffer.alloc(0);
    for (;;) {
      const chunk = await this.read(idleMs, what);
      if (chunk === null) throw new BerthError("ENGINE", `${what}: connection closed by the engine`);
      const searchFrom = Math.max(0, buffered.length - delimiter.length + 1);
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const at = buffered.indexOf(delimiter, searchFrom);
      if (at >= 0) {
        this.unread(buffered.subarray(at + delimiter.length));
        return buffered.subarray(0, at);
      }
      if (buffered.length > limit) throw new BerthError("ENGINE", `${what}: line longer than ${limit} bytes`);
    }
  }

  /** One CRLF-terminated line, without the CRLF. */
  readLine(limit: number, idleMs: number | undefined, what: string): Promise<Buffer> {
    return this.readUntil(CRLF, limit, idleMs, what);
  }

  /** Writes, waiting (at most `idleMs`) for `drain` when the stream asks for it. */
  async write(data: Uint8Array | string, idleMs: number, what: string): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (this.stream.write(data)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new BerthError("TIMEOUT", `${what}: could not send for ${idleMs} ms`));
      }, idleMs);
      const done = () => {
        clearTimeout(timer);
        this.stream.off("drain", done);
        this.stream.off("close", done);
        if (this.#error !== undefined) reject(this.#error);
        else if (this.stream.destroyed) reject(new BerthError("ENGINE", "connection closed while sending"));
        else resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("close", done);
    });
  }

  /** Destroys the stream. */
  destroy(): void {
    this.stream.destroy();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

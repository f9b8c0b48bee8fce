import { availableParallelism } from "node:os";

/**
 * Hosts checked or worked on at once by default. The work waits on the
 * network, not the processor, so many hosts per core; bounded for memory.
 */
export const DEFAULT_HOST_CONCURRENCY = Math.min(256, 64 * availableParallelism());

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, keeping the
 * results in item order. Every call settles before it returns.
 *
 * @example
 * ```ts
 * import { mapLimit } from "./limit.ts";
 * const out = await mapLimit([1, 2, 3], 2, async (n) => n * 2);
 * if (out.join() !== "2,4,6") throw new Error("wrong");
 * ```
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return results;
}

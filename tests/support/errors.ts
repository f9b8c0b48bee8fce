/** Test helpers for errors. */
import { BerthError } from "../../core/errors.ts";

/** What a promise ended with: a BerthError's code and message, or `resolved`. */
export async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BerthError) return { code: err.code, message: err.message };
    return { code: "not a BerthError", message: String(err) };
  }
  return { code: "resolved", message: "" };
}

/** Test helpers for errors. */
import { BerthError } from "../../core/errors.ts";
import { ValidationError } from "../../core/validate.ts";

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

/** The problems of the ValidationError `fn` throws; fails when it throws nothing or something else. */
export function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.problems;
    throw err;
  }
  throw new Error("expected a ValidationError");
}

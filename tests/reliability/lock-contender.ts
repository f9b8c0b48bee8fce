/**
 * One contender of the stale-lock race (`lock-race.test.ts`): a long-lived
 * process that, on each `go` line on stdin, tries to take the lock at once
 * and answers `won` or `refused`; the winner holds it until `release`.
 */
import { createInterface } from "node:readline";
import { lockState, type StateLock } from "../../store/lock.ts";

const statePath = process.argv[2] as string;
let held: StateLock | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "go") {
    try {
      held = await lockState(statePath, { command: "lock-race contender" });
      process.stdout.write("won\n");
    } catch (err) {
      process.stdout.write(
        /is locked by/.test((err as Error).message) ? "refused\n" : `error ${(err as Error).message}\n`,
      );
    }
  } else if (line === "release") {
    held?.release();
    held = undefined;
    process.stdout.write("released\n");
  }
}

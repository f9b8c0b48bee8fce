/**
 * A chain of SSH connections, like OpenSSH's ProxyJump: connect to the
 * first hop, open a `direct-tcpip` channel from it to the next hop's
 * address, run the next SSH connection over that channel, and so on.
 *
 * @module
 */
import type { Client } from "ssh2";
import { openChannel } from "./channel.ts";
import { connectHop } from "./hop.ts";
import { describeHop, type HopSettings } from "./settings.ts";
import { signalOption } from "../../core/signal.ts";

/** Options of {@link connectChain}. */
export interface ChainOptions {
  signal?: AbortSignal;
  log: (message: string) => void;
}

/**
 * Connects through every hop; the last one is the target.
 *
 * @param hops Jump hosts (outermost first), then the target.
 * @returns The ready clients in the same order; the last one reaches the target.
 * @throws {BerthError} The first hop's failure (see {@link connectHop}); the hops already connected are closed.
 */
export async function connectChain(hops: HopSettings[], options: ChainOptions): Promise<Client[]> {
  const clients: Client[] = [];
  const signal = signalOption(options.signal);
  try {
    for (const [index, hop] of hops.entries()) {
      const previous = clients[index - 1];
      const previousHop = hops[index - 1];
      const sock = previous === undefined || previousHop === undefined
        ? undefined
        : await openChannel(previous, { host: hop.address, port: hop.port }, {
          timeoutMs: hop.connectionTimeoutMs,
          via: describeHop(previousHop),
          ...signal,
        });
      clients.push(await connectHop(hop, { log: options.log, ...(sock === undefined ? {} : { sock }), ...signal }));
    }
    return clients;
  } catch (err) {
    for (const client of clients.reverse()) client.destroy();
    throw err;
  }
}

/**
 * A state's text for a run that writes it again and again (after every
 * apply step): the text of each entry is kept by the entry object, so a
 * write emits only the entries replaced since the last one and joins the
 * rest's bytes. Emitting all of 10,000 containers on every write was most of a
 * 1,000-host apply (37 of 90 s in stateToYaml, and much of the GC time).
 *
 * The entry object is a valid key because a loaded state's entries are
 * replaced, never changed in place: engine/apply.ts records a new object
 * for every change (the config reader changes entries only while it builds
 * them, before any write). The bytes are exactly {@link stateText}'s:
 * tests/unit/state-texts.test.ts compares the two.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ContainersState, HostConfiguredContainer } from "./model.ts";
import { STATE_VERSION, stateEntryDocument } from "./serialize.ts";
import { type StateFormat, stateText } from "./state-format.ts";
import { emitYaml } from "./yaml-emit.ts";

/** Entry texts kept between writes, as UTF-8; one per state file written in a run. */
export class StateTexts {
  readonly #digestKey: Uint8Array | undefined;
  readonly #entries = new WeakMap<HostConfiguredContainer, { name: string; bytes: Uint8Array }>();
  /** The names of the last write, as the state listed them and in the document's order. */
  #last: { listed: string[]; ordered: string[] } | undefined;

  constructor(digestKey?: Uint8Array) {
    this.#digestKey = digestKey;
  }

  /** The UTF-8 bytes of `stateText(state, format, { digestKey })`. */
  bytes(state: ContainersState, format: StateFormat): Buffer {
    const listed = Object.keys(state);
    if (listed.length === 0) {
      return Buffer.from(stateText(state, format, this.#digestKey === undefined ? {} : { digestKey: this.#digestKey }));
    }
    const top = format === "berth" ? "containers" : "previousState";
    const parts: Uint8Array[] = [
      Buffer.from(format === "berth" ? `version: ${STATE_VERSION}\n${top}:\n` : `${top}:\n`),
    ];
    for (const name of this.#order(listed)) {
      const hcc = state[name] as HostConfiguredContainer;
      let kept = this.#entries.get(hcc);
      if (kept?.name !== name) {
        // Emitted as the one entry of the same document, so quoting and indentation are the whole document's.
        const text = emitYaml({ [top]: { [name]: stateEntryDocument(hcc, this.#digestKey) } }).slice(top.length + 2);
        kept = { name, bytes: Buffer.from(text) };
        this.#entries.set(hcc, kept);
      }
      parts.push(kept.bytes);
    }
    return Buffer.concat(parts);
  }

  /** The names in document order; sorted again only when the state's names changed since the last write. */
  #order(listed: string[]): string[] {
    const last = this.#last;
    if (last !== undefined && last.listed.length === listed.length && last.listed.every((n, i) => n === listed[i])) {
      return last.ordered;
    }
    this.#last = { listed, ordered: documentOrder(listed) };
    return this.#last.ordered;
  }
}

/**
 * The names in the order stateDocument's sorted object lists them: sorted,
 * except that an object lists integer-like keys first, in numeric order.
 */
function documentOrder(listed: string[]): string[] {
  const names = [...listed].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.keys(Object.fromEntries(names.map((name) => [name, 0])));
}

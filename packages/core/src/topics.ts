/**
 * Topics: native on engines that have them (Bun, uWS), emulated with per-subscriber sends
 * elsewhere (ws), with one behaviour: a socket's publish reaches every subscriber but itself,
 * a server publish reaches all, each delivery obeys the subscriber's backpressure rule, and a
 * socket that closes leaves all its topics.
 */

import type { AdapterServer } from "./adapter.js";

/** What a socket looks like to the topic hub. */
export interface TopicMember {
  /** One delivery, the bytes as they are (an envelope for a session socket's twin topic). */
  deliver(data: string | ArrayBuffer | Uint8Array, isBinary: boolean, compress: boolean): unknown;
}

/** Throws for a topic name that cannot be used. */
export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0) {
    throw new TypeError(`A topic must be a non-empty string; got ${typeof topic === "string" ? '""' : typeof topic}`);
  }
}

/** @internal The topic table of one server. */
export class TopicHub {
  /** Engine topics, when the adapter has them. */
  #native: AdapterServer | undefined;
  /** Emulated topics: topic → subscribers. */
  readonly #local = new Map<string, Set<TopicMember>>();

  /**
   * Uses the engine's topics when the adapter has them, unless `closeOnBackpressureLimit` needs
   * per-subscriber drop reports the engine does not give.
   */
  useNative(server: AdapterServer | undefined, closeOnBackpressureLimit: boolean): void {
    const capable = server?.publish !== undefined && server.subscriberCount !== undefined;
    const exact = !closeOnBackpressureLimit || server?.reportsPublishDrops === true;
    this.#native = capable && exact ? server : undefined;
  }

  get isNative(): boolean {
    return this.#native !== undefined;
  }

  /** Emulated topics with at least one subscriber. */
  get localCount(): number {
    return this.#local.size;
  }

  /** Emulation: adds a subscriber. */
  add(topic: string, member: TopicMember): void {
    let members = this.#local.get(topic);
    if (members === undefined) {
      members = new Set();
      this.#local.set(topic, members);
    }
    members.add(member);
  }

  /** Emulation: removes a subscriber; empty topics disappear. */
  remove(topic: string, member: TopicMember): void {
    const members = this.#local.get(topic);
    if (members === undefined) return;
    members.delete(member);
    if (members.size === 0) this.#local.delete(topic);
  }

  /** Subscribers of `topic` on this server. */
  count(topic: string): number {
    const native = this.#native;
    if (native !== undefined) return (native.subscriberCount as (topic: string) => number)(topic);
    return this.#local.get(topic)?.size ?? 0;
  }

  /**
   * Sends to every subscriber of `topic` except `except` (emulation) or through the engine.
   * Returns the number of subscribers reached (excluding `except`).
   */
  publish(
    topic: string,
    data: string | ArrayBuffer | Uint8Array,
    isBinary: boolean,
    compress: boolean,
    except: TopicMember | undefined,
  ): number {
    const native = this.#native;
    if (native !== undefined) {
      const count = (native.subscriberCount as (topic: string) => number)(topic);
      if (count > 0) (native.publish as NonNullable<AdapterServer["publish"]>)(topic, data, isBinary, compress);
      return count;
    }
    const members = this.#local.get(topic);
    if (members === undefined) return 0;
    // Encode text once for the whole fan-out rather than once per subscriber.
    const payload = typeof data === "string" && members.size > 2 ? Buffer.from(data) : data;
    let reached = 0;
    for (const member of members) {
      if (member === except) continue;
      member.deliver(payload, isBinary, compress);
      reached++;
    }
    return reached;
  }
}

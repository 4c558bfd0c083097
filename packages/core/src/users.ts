/**
 * Per-user delivery (the spec's `NotificationService`): every socket of a user, reached through
 * one topic per user, so delivery fans out in the engine and, with a backplane, across instances.
 */

import { type Publisher, RESERVED_TOPIC_PREFIX } from "./registry.js";
import type { SendData, SendOptions, VerbSocket } from "./socket.js";

const userTopic = (userId: string) => `${RESERVED_TOPIC_PREFIX}user:${userId}`;
const ALL_USERS = `${RESERVED_TOPIC_PREFIX}users`;

/** `app.users`: sockets by user id. */
export class UserDirectory<Data = Record<string, unknown>> {
  readonly #publisher: Publisher;
  readonly #sockets = new Map<string, Set<VerbSocket<unknown>>>();
  readonly #userOf = new Map<VerbSocket<unknown>, string>();

  constructor(publisher: Publisher) {
    this.#publisher = publisher;
  }

  /** Binds a socket to a user (a user may have many sockets; a socket one user). Unbound on close. */
  bind(socket: VerbSocket<Data>, userId: string | number): void {
    const id = String(userId);
    if (id.length === 0) throw new TypeError("A user id must not be empty");
    if (socket.readyState > 1) return;
    const key = socket as VerbSocket<unknown>;
    const previous = this.#userOf.get(key);
    if (previous === id) return;
    if (previous !== undefined) this.unbind(socket);
    let sockets = this.#sockets.get(id);
    if (sockets === undefined) {
      sockets = new Set();
      this.#sockets.set(id, sockets);
    }
    sockets.add(key);
    this.#userOf.set(key, id);
    this.#publisher.presence?.set(`u:${id}`, sockets.size);
    socket.subscribe(userTopic(id));
    socket.subscribe(ALL_USERS);
  }

  /** Unbinds a socket from its user. */
  unbind(socket: VerbSocket<Data>): void {
    const key = socket as VerbSocket<unknown>;
    const id = this.#userOf.get(key);
    if (id === undefined) return;
    this.#userOf.delete(key);
    const sockets = this.#sockets.get(id);
    sockets?.delete(key);
    if (sockets !== undefined && sockets.size === 0) this.#sockets.delete(id);
    this.#publisher.presence?.set(`u:${id}`, sockets?.size ?? 0);
    if (socket.readyState <= 1) {
      socket.unsubscribe(userTopic(id));
      socket.unsubscribe(ALL_USERS);
    }
  }

  /** The user a socket is bound to. */
  userOf(socket: VerbSocket<Data>): string | undefined {
    return this.#userOf.get(socket as VerbSocket<unknown>);
  }

  /**
   * Sends to every socket of a user, here and (with a backplane) on other instances. Returns
   * whether a socket here received it; `deliver` also waits for the other instances.
   */
  send(userId: string | number, message: SendData, options?: SendOptions): boolean {
    return this.#publisher.publish(userTopic(String(userId)), message, options);
  }

  /** Sends like `send` and resolves with whether any socket of the user, on any instance, received it. */
  async deliver(userId: string | number, message: SendData, options?: SendOptions): Promise<boolean> {
    const { local, remote } = await this.#publisher.deliver(userTopic(String(userId)), message, options);
    return local > 0 || remote > 0;
  }

  /** Sends to every socket of every bound user. */
  broadcast(message: SendData, options?: SendOptions): boolean {
    return this.#publisher.publish(ALL_USERS, message, options);
  }

  /**
   * Whether a user has an open socket here or, with a backplane that keeps presence, on any
   * instance (a dead instance's users disappear within its expiry, 10 s with @verb/redis).
   */
  async isOnlineAnywhere(userId: string | number): Promise<boolean> {
    const id = String(userId);
    if (this.#sockets.has(id)) return true;
    const presence = this.#publisher.presence;
    return presence !== undefined && (await presence.total(`u:${id}`)) > 0;
  }

  /** Whether a user has an open socket on this instance. */
  isOnline(userId: string | number): boolean {
    return this.#sockets.has(String(userId));
  }

  /** Sockets of a user on this instance. */
  socketsOf(userId: string | number): VerbSocket<Data>[] {
    return [...(this.#sockets.get(String(userId)) ?? [])] as VerbSocket<Data>[];
  }

  /** Users with an open socket on this instance. */
  online(): string[] {
    return [...this.#sockets.keys()];
  }

  /** @internal A socket closed. */
  socketEnded(socket: VerbSocket<unknown>): void {
    if (this.#userOf.has(socket)) this.unbind(socket as VerbSocket<Data>);
  }
}

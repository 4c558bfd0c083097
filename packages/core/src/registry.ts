/**
 * The client registry and rooms of the spec's `WebSocketManager`, built in: clients by id with
 * metadata, rooms with join/leave/broadcast. Rooms are topics underneath, so they fan out in the
 * engine and, with a backplane, across instances, without changing this API.
 */

import type { Presence } from "./backplane.js";
import type { Counters } from "./metrics.js";
import type { OfflineStore, QueueBounds, QueuedMessage } from "./offline-queue.js";
import type { SendData, SendOptions, SendStatus, VerbSocket } from "./socket.js";

/** Topic prefix reserved by Verb. */
export const RESERVED_TOPIC_PREFIX = "verb:";
const ALL_CLIENTS = `${RESERVED_TOPIC_PREFIX}clients`;
const roomTopic = (roomId: string) => `${RESERVED_TOPIC_PREFIX}room:${roomId}`;
const clientTopic = (clientId: string) => `${RESERVED_TOPIC_PREFIX}client:${clientId}`;

/** A registered client. */
export interface Client<Data = Record<string, unknown>, Meta = Record<string, unknown>> {
  readonly id: string;
  readonly socket: VerbSocket<Data>;
  metadata: Meta;
  /** When the client was registered. */
  readonly connectedAt: Date;
  /** When the client last sent a frame (resolution: half a second). */
  readonly lastActivity: Date;
}

/** What the registry needs from the app: publishing to topics, here and on other instances. */
export interface Publisher {
  publish(topic: string, data: SendData, options?: SendOptions): boolean;
  deliver(topic: string, data: SendData, options?: SendOptions): Promise<{ local: number; remote: number }>;
  readonly hasBackplane: boolean;
  /** Whether session clients follow `topic` (or did, within the resume TTL): it keeps a history. */
  isStream(topic: string): boolean;
  /** Whether the backplane is a durable log (publishes are kept, numbered, and resumed on any instance). */
  readonly isDurable: boolean;
  /** Cluster-wide presence, when the backplane keeps it. */
  readonly presence: Presence | undefined;
}

/** Whether a socket speaks the Verb protocol (a session client of @verb/client). */
function isSession(socket: VerbSocket<unknown>): boolean {
  return (socket as { session?: { record?: unknown } }).session?.record !== undefined;
}

interface Entry {
  id: string;
  socket: VerbSocket<unknown>;
  metadata: unknown;
  connectedAt: Date;
  rooms: Set<string>;
  /** While queued messages are being fetched from an async store: later sends wait here. */
  replaying: [SendData, SendOptions | undefined][] | undefined;
}

interface OfflineState {
  store: OfflineStore;
  bounds: QueueBounds;
  counters: Counters;
}

function toQueued(message: SendData, options: SendOptions | undefined): QueuedMessage {
  const binary = options?.binary ?? typeof message !== "string";
  let data: string;
  if (typeof message === "string") data = binary ? Buffer.from(message).toString("base64") : message;
  else {
    const bytes =
      message instanceof ArrayBuffer ? Buffer.from(message) : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    data = binary ? bytes.toString("base64") : bytes.toString("utf8");
  }
  return { data, binary, at: Date.now() };
}

function activityOf(socket: VerbSocket<unknown>): Date {
  const at = (socket as { lastActivityTime?: number }).lastActivityTime;
  return new Date(typeof at === "number" ? at : Date.now());
}

function toClient<Data, Meta>(entry: Entry): Client<Data, Meta> {
  return {
    id: entry.id,
    socket: entry.socket as VerbSocket<Data>,
    get metadata() {
      return entry.metadata as Meta;
    },
    set metadata(value: Meta) {
      entry.metadata = value;
    },
    connectedAt: entry.connectedAt,
    get lastActivity() {
      return activityOf(entry.socket);
    },
  };
}

/** `app.clients`: the spec's `WebSocketManager`, with the same method names. */
export class ClientRegistry<Data = Record<string, unknown>, Meta = Record<string, unknown>> {
  readonly #publisher: Publisher;
  readonly #clients = new Map<string, Entry>();
  readonly #bySocket = new Map<VerbSocket<unknown>, Entry>();
  readonly #rooms = new Map<string, Set<string>>();
  #offline: OfflineState | undefined;

  constructor(publisher: Publisher) {
    this.#publisher = publisher;
  }

  /**
   * Registers a socket under `clientId` (replacing an earlier registration of that id, whose
   * socket stays open). The client is removed automatically when its socket closes.
   */
  addClient(socket: VerbSocket<Data>, clientId: string, metadata: Meta = {} as Meta): Client<Data, Meta> {
    if (typeof clientId !== "string" || clientId.length === 0) throw new TypeError("A client id must be a non-empty string");
    if (socket.readyState > 1) throw new Error(`Cannot register client ${clientId}: its socket is closed`);
    this.removeClient(clientId);
    const previous = this.#bySocket.get(socket as VerbSocket<unknown>);
    if (previous !== undefined) this.removeClient(previous.id);
    const entry: Entry = {
      id: clientId,
      socket: socket as VerbSocket<unknown>,
      metadata,
      connectedAt: new Date(),
      rooms: new Set(),
      replaying: undefined,
    };
    this.#clients.set(clientId, entry);
    this.#bySocket.set(entry.socket, entry);
    this.#publisher.presence?.set(`c:${clientId}`, 1);
    socket.subscribe(ALL_CLIENTS);
    if (this.#offline !== undefined) this.#replay(entry, this.#offline);
    else this.#reachable(entry);
    return toClient<Data, Meta>(entry);
  }

  /** @internal Turns on the offline queue. */
  useOfflineQueue(store: OfflineStore, bounds: QueueBounds, counters: Counters): void {
    this.#offline = { store, bounds, counters };
  }

  /**
   * Sends to a client by id. Registered here: sent at once (the send status). Otherwise, with a
   * backplane, it goes to the instance that has the client; and when no instance has it (with
   * `offlineQueue` on) it waits in its queue and is delivered, in order and once, when the client is
   * registered again. Returns `"queued"` when it left for another instance or the queue, `"dropped"`
   * when it can go nowhere.
   */
  sendTo(clientId: string, message: SendData, options?: SendOptions): SendStatus | "queued" {
    const entry = this.#clients.get(clientId);
    const topic = clientTopic(clientId);
    // A session client's messages travel on its stream: sequenced, and kept for it while it is away.
    if (entry !== undefined && entry.socket.readyState === 1 && isSession(entry.socket)) {
      return this.#publisher.publish(topic, message, options) ? "sent" : "queued";
    }
    // Durable: the client's stream holds it for whichever instance the client is (or comes back) on.
    if (this.#publisher.isDurable && entry === undefined) {
      this.#publisher.publish(topic, message, options);
      return "queued";
    }
    if (entry === undefined && this.#publisher.isStream(topic)) {
      this.#publisher.publish(topic, message, options);
      return "queued";
    }
    if (entry !== undefined && entry.socket.readyState <= 1) {
      if (entry.replaying !== undefined) {
        entry.replaying.push([message, options]);
        return "queued";
      }
      return entry.socket.send(message, options);
    }
    if (this.#publisher.hasBackplane) {
      this.#publisher.deliver(clientTopic(clientId), message, options).then(
        ({ remote }) => {
          if (remote === 0) this.#enqueue(clientId, message, options);
        },
        () => this.#enqueue(clientId, message, options),
      );
      return "queued";
    }
    return this.#enqueue(clientId, message, options) ? "queued" : "dropped";
  }

  /** Puts a message in a client's offline queue; false without a queue. */
  #enqueue(clientId: string, message: SendData, options: SendOptions | undefined): boolean {
    const offline = this.#offline;
    if (offline === undefined) return false;
    offline.counters.offlineQueued++;
    this.#store(offline, clientId, [toQueued(message, options)]);
    return true;
  }

  /**
   * Appends to a client's queue in order: synchronously with a synchronous store, one after the
   * other with an asynchronous one (so it cannot reorder them).
   */
  #store(offline: OfflineState, clientId: string, messages: QueuedMessage[], from = 0): void {
    const counters = offline.counters;
    for (let i = from; i < messages.length; i++) {
      let result: number | Promise<number>;
      try {
        result = offline.store.enqueue(clientId, messages[i] as QueuedMessage, offline.bounds);
      } catch {
        counters.offlineDropped++;
        continue;
      }
      if (typeof result === "number") {
        counters.offlineDropped += result;
        continue;
      }
      result.then(
        (dropped) => {
          counters.offlineDropped += dropped;
          this.#store(offline, clientId, messages, i + 1);
        },
        () => {
          counters.offlineDropped++;
          this.#store(offline, clientId, messages, i + 1);
        },
      );
      return;
    }
  }

  /** A resume token for a client: presented later to `resume()`, it stands for the client id (valid for the queue's TTL). */
  async resumeToken(clientId: string): Promise<string> {
    const offline = this.#offline;
    if (offline === undefined) throw new Error("resumeToken() needs websocket.offlineQueue");
    return offline.store.issueToken(clientId, offline.bounds.ttlMs);
  }

  /** Registers a socket as the client a resume token stands for; its queued messages follow. Undefined for an unknown or expired token. */
  async resume(socket: VerbSocket<Data>, token: string, metadata?: Meta): Promise<Client<Data, Meta> | undefined> {
    const offline = this.#offline;
    if (offline === undefined) throw new Error("resume() needs websocket.offlineQueue");
    const clientId = await offline.store.resolveToken(token);
    if (clientId === undefined || socket.readyState > 1) return undefined;
    return this.addClient(socket, clientId, metadata);
  }

  /**
   * Other instances reach the client through its own topic (after its queue, so nothing newer
   * overtakes it); a session client always follows it (its stream resumes what it missed).
   */
  #reachable(entry: Entry): void {
    const wanted = this.#publisher.hasBackplane || isSession(entry.socket);
    if (wanted && this.#clients.get(entry.id) === entry && entry.socket.readyState <= 1) {
      entry.socket.subscribe(clientTopic(entry.id));
    }
  }

  /** Delivers a client's queued messages before anything sent after its registration. */
  #replay(entry: Entry, offline: OfflineState): void {
    const taken = offline.store.take(entry.id, offline.bounds);
    if (Array.isArray(taken)) {
      this.#deliverQueued(entry, offline, taken);
      this.#reachable(entry);
      return;
    }
    entry.replaying = [];
    taken
      .then(
        (messages) => this.#deliverQueued(entry, offline, messages),
        () => {},
      )
      .finally(() => {
        const waiting = entry.replaying ?? [];
        entry.replaying = undefined;
        if (entry.socket.readyState <= 1) {
          for (const [message, options] of waiting) entry.socket.send(message, options);
        } else {
          // sendTo() answered "queued" for these: the client left meanwhile, so they wait for it again.
          this.#store(
            offline,
            entry.id,
            waiting.map(([message, options]) => toQueued(message, options)),
          );
        }
        this.#reachable(entry);
      });
  }

  /** Sends taken messages; if the socket closed while the store answered, they go back to the queue. */
  #deliverQueued(entry: Entry, offline: OfflineState, messages: QueuedMessage[]): void {
    if (entry.socket.readyState > 1) {
      this.#store(offline, entry.id, messages);
      return;
    }
    for (const message of messages) {
      entry.socket.send(message.binary ? Buffer.from(message.data, "base64") : message.data, { binary: message.binary });
    }
    offline.counters.offlineDelivered += messages.length;
  }

  /** Unregisters a client and takes it out of every room. Returns whether it was registered. */
  removeClient(clientId: string): boolean {
    const entry = this.#clients.get(clientId);
    if (entry === undefined) return false;
    for (const roomId of [...entry.rooms]) this.leaveRoom(clientId, roomId);
    this.#clients.delete(clientId);
    this.#bySocket.delete(entry.socket);
    this.#publisher.presence?.set(`c:${clientId}`, 0);
    if (entry.socket.readyState <= 1) {
      entry.socket.unsubscribe(ALL_CLIENTS);
      entry.socket.unsubscribe(clientTopic(clientId));
    }
    return true;
  }

  /** The client registered under `clientId`. */
  getClient(clientId: string): Client<Data, Meta> | undefined {
    const entry = this.#clients.get(clientId);
    return entry === undefined ? undefined : toClient<Data, Meta>(entry);
  }

  /** The client a socket is registered as. */
  clientOf(socket: VerbSocket<Data>): Client<Data, Meta> | undefined {
    const entry = this.#bySocket.get(socket as VerbSocket<unknown>);
    return entry === undefined ? undefined : toClient<Data, Meta>(entry);
  }

  /** Every registered client, as `[id, client]` pairs (the spec's shape). */
  getAllClients(): [string, Client<Data, Meta>][] {
    return [...this.#clients.values()].map((entry) => [entry.id, toClient<Data, Meta>(entry)]);
  }

  /** Number of registered clients. */
  get count(): number {
    return this.#clients.size;
  }

  /** Puts a registered client in a room (created on first join). Throws for an unknown client. */
  joinRoom(clientId: string, roomId: string): void {
    const entry = this.#entry(clientId);
    if (typeof roomId !== "string" || roomId.length === 0) throw new TypeError("A room id must be a non-empty string");
    let members = this.#rooms.get(roomId);
    if (members === undefined) {
      members = new Set();
      this.#rooms.set(roomId, members);
    }
    members.add(clientId);
    this.#publisher.presence?.set(`r:${roomId}`, members.size);
    entry.rooms.add(roomId);
    entry.socket.subscribe(roomTopic(roomId));
  }

  /** Takes a client out of a room; an empty room disappears. */
  leaveRoom(clientId: string, roomId: string): void {
    const entry = this.#clients.get(clientId);
    const members = this.#rooms.get(roomId);
    if (members !== undefined) {
      members.delete(clientId);
      if (members.size === 0) this.#rooms.delete(roomId);
      this.#publisher.presence?.set(`r:${roomId}`, members.size);
    }
    if (entry?.rooms.delete(roomId) && entry.socket.readyState <= 1) {
      entry.socket.unsubscribe(roomTopic(roomId));
    }
  }

  /**
   * Whether a client is registered here or, with a backplane that keeps presence, on any
   * instance (a dead instance's clients disappear within its expiry, 10 s with @verb/redis).
   */
  async isRegisteredAnywhere(clientId: string): Promise<boolean> {
    if (this.#clients.has(clientId)) return true;
    const presence = this.#publisher.presence;
    return presence !== undefined && (await presence.total(`c:${clientId}`)) > 0;
  }

  /** Members of a room on every instance (with a backplane that keeps presence; else here). */
  async roomSizeAnywhere(roomId: string): Promise<number> {
    const presence = this.#publisher.presence;
    if (presence === undefined) return this.#rooms.get(roomId)?.size ?? 0;
    return presence.total(`r:${roomId}`);
  }

  /** Ids of the clients in a room. */
  roomMembers(roomId: string): string[] {
    return [...(this.#rooms.get(roomId) ?? [])];
  }

  /** Rooms with at least one member. */
  rooms(): string[] {
    return [...this.#rooms.keys()];
  }

  /** Rooms a client is in. */
  roomsOf(clientId: string): string[] {
    return [...(this.#clients.get(clientId)?.rooms ?? [])];
  }

  /**
   * Sends to every client in a room except `excludeClient`. Fans out as one topic publish.
   * Returns whether anyone received it.
   */
  broadcastToRoom(roomId: string, message: SendData, excludeClient: string | null = null, options?: SendOptions): boolean {
    return this.#publishExcept(roomTopic(roomId), message, excludeClient, options);
  }

  /** Sends to every registered client except `excludeClient`. */
  broadcast(message: SendData, excludeClient: string | null = null, options?: SendOptions): boolean {
    return this.#publishExcept(ALL_CLIENTS, message, excludeClient, options);
  }

  /** @internal A socket closed: forget its client. */
  socketEnded(socket: VerbSocket<unknown>): void {
    const entry = this.#bySocket.get(socket);
    if (entry !== undefined) this.removeClient(entry.id);
  }

  #entry(clientId: string): Entry {
    const entry = this.#clients.get(clientId);
    if (entry === undefined) throw new Error(`Unknown client "${clientId}": register it with addClient() first`);
    return entry;
  }

  #publishExcept(topic: string, message: SendData, excludeClient: string | null, options: SendOptions | undefined): boolean {
    if (excludeClient !== null) {
      const excluded = this.#clients.get(excludeClient);
      // A socket's publish skips that socket: exactly the exclusion asked for.
      if (excluded !== undefined && excluded.socket.readyState === 1 && excluded.socket.isSubscribed(topic)) {
        return excluded.socket.publish(topic, message, options);
      }
    }
    return this.#publisher.publish(topic, message, options);
  }
}

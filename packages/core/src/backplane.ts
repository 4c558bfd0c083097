/**
 * The backplane contract: how instances of one application exchange topic publishes (Redis
 * pub/sub in `@verb/redis`). Delivery across instances is at-most-once: a message published while
 * the broker is unreachable is lost (and counted); local delivery never depends on the broker.
 */

/** A publish travelling between instances. */
export interface BackplaneMessage {
  /** Instance id of the publisher: an instance ignores its own publishes. */
  origin: string;
  /** Text, or bytes for binary messages. */
  data: string | Uint8Array;
  binary: boolean;
  compress: boolean;
}

/** What a backplane reports back to core. */
export interface BackplaneSink {
  /** A publish from another instance for `topic`. */
  deliver(topic: string, message: BackplaneMessage): void;
  /** Something went wrong (`stage`: "connect", "publish", "subscribe", "message", ...). Never fatal. */
  error(error: Error, stage: string): void;
}

/** A backplane driver. */
export interface Backplane {
  /** This instance's id (unique per process). */
  readonly instanceId: string;
  /**
   * Connects. Rejects with a clear error when the broker cannot be reached, unless the driver was
   * configured to start local-only (then it keeps retrying in the background).
   */
  start(sink: BackplaneSink): Promise<void>;
  /** Sends to the other instances. Resolves with how many other instances received it; rejects when it could not be sent. */
  publish(topic: string, message: BackplaneMessage): Promise<number>;
  /** Starts receiving a topic (core calls it once per topic, when the first local socket subscribes). */
  subscribe(topic: string): void;
  /** Stops receiving a topic (when the last local socket left it). */
  unsubscribe(topic: string): void;
  /** Whether the broker is reachable right now. */
  readonly connected: boolean;
  /** Disconnects. */
  close(): Promise<void>;
}

/**
 * Counters and gauges of a server, as an object and in the Prometheus text format.
 */

/** Counters kept while the server runs (cheap increments on the hot paths). */
export class Counters {
  connectionsTotal = 0;
  connectionsRejected = 0;
  upgradesTimedOut = 0;
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;
  published = 0;
  sendsBuffered = 0;
  sendsDropped = 0;
  pongsDropped = 0;
  rateLimited = 0;
  handlerErrors = 0;
  heartbeatTimeouts = 0;
  offlineQueued = 0;
  offlineDelivered = 0;
  offlineDropped = 0;
  backplaneOut = 0;
  backplaneIn = 0;
  backplaneLost = 0;
  backplaneErrors = 0;
  sessionsResumed = 0;
  sessionRepeats = 0;
  streamMessages = 0;
  streamReplayed = 0;
  streamGaps = 0;
  streamExpired = 0;
}

/** A snapshot of a server's metrics. */
export interface Metrics {
  connections: {
    /** Open now. */
    active: number;
    /** Upgrades being decided (async hooks, authentication) or accepted and not yet open. */
    pending: number;
    /** Accepted since the server started. */
    total: number;
    /** Refused by `maxConnections`/`maxConnectionsPerIp` (503, or closed 1013). */
    rejected: number;
    /** Upgrades whose decision took longer than `upgradeTimeout` (answered 503). */
    upgradeTimeouts: number;
  };
  /** Messages received and sent (a publish counts once, whatever its fan-out). */
  messages: { in: number; out: number; published: number };
  /** Payload sizes: bytes for binary, UTF-16 code units for text (exact for ASCII). */
  bytes: { in: number; out: number };
  /**
   * Sends that met backpressure: queued ("buffered") or discarded ("dropped"); and pings left
   * unanswered because the send buffer was over `maxBackpressure`.
   */
  backpressure: { buffered: number; dropped: number; pongsDropped: number };
  /** Messages refused by the rate limit. */
  rateLimited: number;
  /** Hooks and listeners that threw or rejected. */
  handlerErrors: number;
  /** Connections closed by the health check. */
  heartbeatTimeouts: number;
  /** Offline queue: messages queued, delivered on resume, dropped (bound or TTL), waiting now. */
  offlineQueue: { queued: number; delivered: number; dropped: number; depth: number };
  /** Topics with at least one subscriber on this instance (emulated topics only; -1 when the engine keeps them). */
  topics: number;
  /**
   * Sessions of the Verb protocol (@verb/client): sessions known, resumed after a reconnect, client
   * messages dropped as repeats; streams followed, messages sequenced, held in histories, replayed
   * on resume, gaps reported (beyond the retention or after a restart), messages expired.
   */
  sessions: {
    active: number;
    resumed: number;
    repeats: number;
    streams: number;
    sequenced: number;
    retained: number;
    replayed: number;
    gaps: number;
    expired: number;
  };
  /**
   * With a backplane: whether the broker is reachable, topics this instance receives, publishes
   * sent to and received from other instances, publishes lost (broker unreachable), errors.
   */
  backplane:
    | { connected: boolean; topics: number; published: number; received: number; lost: number; errors: number }
    | undefined;
}

const HELP: [name: string, type: "counter" | "gauge", help: string, value: (m: Metrics) => number][] = [
  ["verb_connections_active", "gauge", "Open WebSocket connections", (m) => m.connections.active],
  ["verb_connections_pending", "gauge", "Upgrades being decided or accepted and not yet open", (m) => m.connections.pending],
  ["verb_connections_total", "counter", "WebSocket connections accepted", (m) => m.connections.total],
  [
    "verb_connections_rejected_total",
    "counter",
    "WebSocket connections refused by connection limits",
    (m) => m.connections.rejected,
  ],
  [
    "verb_upgrade_timeouts_total",
    "counter",
    "Upgrades answered 503 because their decision outlasted upgradeTimeout",
    (m) => m.connections.upgradeTimeouts,
  ],
  ["verb_messages_in_total", "counter", "Messages received", (m) => m.messages.in],
  ["verb_messages_out_total", "counter", "Messages sent", (m) => m.messages.out],
  ["verb_messages_published_total", "counter", "Topic publishes", (m) => m.messages.published],
  ["verb_bytes_in_total", "counter", "Payload received (bytes; UTF-16 units for text)", (m) => m.bytes.in],
  ["verb_bytes_out_total", "counter", "Payload sent (bytes; UTF-16 units for text)", (m) => m.bytes.out],
  ["verb_sends_buffered_total", "counter", "Sends queued behind backpressure", (m) => m.backpressure.buffered],
  ["verb_sends_dropped_total", "counter", "Sends dropped at the backpressure limit", (m) => m.backpressure.dropped],
  [
    "verb_pongs_dropped_total",
    "counter",
    "Client pings left unanswered over the backpressure limit",
    (m) => m.backpressure.pongsDropped,
  ],
  ["verb_rate_limited_total", "counter", "Messages refused by the rate limit", (m) => m.rateLimited],
  ["verb_handler_errors_total", "counter", "Hooks that threw or rejected", (m) => m.handlerErrors],
  ["verb_heartbeat_timeouts_total", "counter", "Connections closed by the health check", (m) => m.heartbeatTimeouts],
  ["verb_offline_queued_total", "counter", "Messages queued for offline clients", (m) => m.offlineQueue.queued],
  ["verb_offline_delivered_total", "counter", "Queued messages delivered on resume", (m) => m.offlineQueue.delivered],
  ["verb_offline_dropped_total", "counter", "Queued messages dropped (bound or TTL)", (m) => m.offlineQueue.dropped],
  ["verb_offline_queue_depth", "gauge", "Messages waiting for offline clients", (m) => m.offlineQueue.depth],
  [
    "verb_backplane_connected",
    "gauge",
    "Whether the backplane broker is reachable (1) or not (0)",
    (m) => (m.backplane?.connected ? 1 : 0),
  ],
  ["verb_sessions", "gauge", "Verb protocol sessions known", (m) => m.sessions.active],
  ["verb_sessions_resumed_total", "counter", "Sessions resumed after a reconnect", (m) => m.sessions.resumed],
  ["verb_session_repeats_total", "counter", "Client messages dropped as repeats", (m) => m.sessions.repeats],
  ["verb_streams", "gauge", "Streams session clients follow", (m) => m.sessions.streams],
  ["verb_stream_messages_total", "counter", "Messages sequenced for session clients", (m) => m.sessions.sequenced],
  ["verb_stream_retained", "gauge", "Messages held in stream histories", (m) => m.sessions.retained],
  ["verb_stream_replayed_total", "counter", "Messages replayed on resume", (m) => m.sessions.replayed],
  ["verb_stream_gaps_total", "counter", "Gaps reported to session clients", (m) => m.sessions.gaps],
  ["verb_stream_expired_total", "counter", "Stream messages dropped by the TTL", (m) => m.sessions.expired],
  ["verb_backplane_published_total", "counter", "Publishes sent to other instances", (m) => m.backplane?.published ?? 0],
  ["verb_backplane_received_total", "counter", "Publishes received from other instances", (m) => m.backplane?.received ?? 0],
  ["verb_backplane_lost_total", "counter", "Publishes that could not reach the backplane", (m) => m.backplane?.lost ?? 0],
];

/** Formats metrics in the Prometheus text exposition format (version 0.0.4). */
export function toPrometheus(metrics: Metrics, labels: Record<string, string> = {}): string {
  const labelText = Object.entries(labels)
    .map(([name, value]) => `${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
  const suffix = labelText.length > 0 ? `{${labelText}}` : "";
  let text = "";
  for (const [name, type, help, value] of HELP) {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name}${suffix} ${value(metrics)}\n`;
  }
  return text;
}

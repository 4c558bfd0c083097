/**
 * Envelopes: how a sequenced message, a numbered client message and an escaped plain message are
 * written in one WebSocket frame. Text and binary frames alike start with the record separator
 * (0x1E) when they carry an envelope; anything else is a plain application message.
 *
 *   text:   "\u001e" + header + "\n" + payload
 *   binary: 0x1E, header length (2 bytes, big-endian), header (UTF-8), payload
 *
 * Headers: `"<stream>",<seq>` (server → client, the stream as a JSON string; `,s` appended: a skip,
 * the number without the message, for the publisher a socket publish excluded), `<n>` or `<n>r`
 * (client → server: the message's number, `r` when it is a request), or empty (a plain message
 * that happens to start with 0x1E, escaped).
 */

/** The first character (and byte) of every envelope. */
export const RS = "\u001e";
const RS_CODE = 0x1e;

const encoder = new TextEncoder();
// ignoreBOM: payloads pass through byte for byte.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A payload: text, or bytes. */
export type Payload = string | Uint8Array;

function binaryEnvelope(header: string, payload: Uint8Array): Uint8Array {
  const head = encoder.encode(header);
  if (head.length > 0xffff) throw new RangeError("an envelope header holds at most 65535 bytes");
  const frame = new Uint8Array(3 + head.length + payload.byteLength);
  frame[0] = RS_CODE;
  frame[1] = head.length >> 8;
  frame[2] = head.length & 0xff;
  frame.set(head, 3);
  frame.set(payload, 3 + head.length);
  return frame;
}

function envelope(header: string, payload: Payload): Payload {
  return typeof payload === "string" ? `${RS}${header}\n${payload}` : binaryEnvelope(header, payload);
}

/** The header of a sequenced message: the stream (as a JSON string) and its sequence number. */
export function sequenceHeader(stream: string, seq: number): string {
  return `${JSON.stringify(stream)},${seq}`;
}

/** A server → client message of `stream` with sequence number `seq`. */
export function encodeSequenced(stream: string, seq: number, payload: Payload): Payload {
  return envelope(sequenceHeader(stream, seq), payload);
}

/** A client → server message, numbered `n` (1, 2, 3, … per session); `request` when it expects a reply. */
export function encodeNumbered(n: number, payload: Payload, request = false): Payload {
  return envelope(request ? `${n}r` : String(n), payload);
}

/** Whether a plain message must be escaped to travel on a session (it starts with 0x1E). */
export function needsEscape(payload: Payload): boolean {
  return typeof payload === "string" ? payload.charCodeAt(0) === RS_CODE : payload[0] === RS_CODE;
}

/** A plain message that starts with 0x1E, wrapped so the peer does not read it as an envelope. */
export function encodeEscaped(payload: Payload): Payload {
  return envelope("", payload);
}

/** An envelope taken apart: its header (`""` for an escaped plain message) and its payload. */
export interface Envelope {
  header: string;
  payload: Payload;
}

/** Takes an envelope apart; `undefined` when the frame is a plain message (or a malformed envelope). */
export function openEnvelope(frame: Payload): Envelope | undefined {
  if (typeof frame === "string") {
    if (frame.charCodeAt(0) !== RS_CODE) return undefined;
    const end = frame.indexOf("\n");
    if (end === -1) return undefined;
    return { header: frame.slice(1, end), payload: frame.slice(end + 1) };
  }
  if (frame.byteLength < 3 || frame[0] !== RS_CODE) return undefined;
  const length = ((frame[1] as number) << 8) | (frame[2] as number);
  if (frame.byteLength < 3 + length) return undefined;
  return { header: decoder.decode(frame.subarray(3, 3 + length)), payload: frame.subarray(3 + length) };
}

/**
 * A sequenced header read back: the stream, the sequence number, and whether it is a skip (the
 * publisher of a socket publish gets the number without its own message); `undefined` when it is
 * not one.
 */
export function readSequenceHeader(header: string): { stream: string; seq: number; skip: boolean } | undefined {
  if (header.charCodeAt(0) !== 0x22) return undefined;
  const skip = header.endsWith(",s");
  const body = skip ? header.slice(0, -2) : header;
  const comma = body.lastIndexOf(",");
  if (comma === -1) return undefined;
  const seq = Number(body.slice(comma + 1));
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  try {
    const stream: unknown = JSON.parse(body.slice(0, comma));
    return typeof stream === "string" ? { stream, seq, skip } : undefined;
  } catch {
    return undefined;
  }
}

/** A numbered header read back: the number and whether it is a request, or `undefined` when it is not one. */
export function readNumberHeader(header: string): { n: number; request: boolean } | undefined {
  const request = header.endsWith("r");
  const digits = request ? header.slice(0, -1) : header;
  if (digits.length === 0 || digits.length > 15 || !/^[0-9]+$/.test(digits)) return undefined;
  const n = Number(digits);
  return n >= 1 ? { n, request } : undefined;
}

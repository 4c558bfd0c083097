/**
 * permessage-deflate negotiation (RFC 7692), decided once for every engine.
 *
 * Engines answer offers differently (uWS accepts invalid offers and drops parameters it must echo,
 * ws answers 400 to offers it should decline, Bun declines some valid ones). Core picks the answer
 * from the client's offer and the compression mode; each adapter then hands the engine that answer
 * as if it were the offer, and every engine answers exactly it (measured on Bun, ws and uWS).
 */

import type { Compression } from "./options.js";

const NAME = "permessage-deflate";
/** Window bits as RFC 7692 §7.1.2 allows them: 8 to 15, no leading zeros. */
const WINDOW_BITS = /^(8|9|1[0-5])$/;
/** What a shared compressor answers: one compressor and decompressor for all, no context kept. */
const SHARED_ANSWER = `${NAME}; client_no_context_takeover; server_no_context_takeover`;

type Params = Map<string, string | undefined>;

/** Splits on `separator` outside quoted strings. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"' && text[i - 1] !== "\\") quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** RFC 7230 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The parameters of one permessage-deflate offer, or undefined when the offer is invalid and must
 * be declined (§5: unknown or repeated parameters, values that are not allowed).
 */
function offerParams(element: string): Params | undefined {
  const [name, ...rest] = splitOutsideQuotes(element, ";").map((part) => part.trim());
  if (name !== NAME) return undefined;
  const params: Params = new Map();
  for (const param of rest) {
    const eq = param.indexOf("=");
    const key = (eq === -1 ? param : param.slice(0, eq)).trim();
    let value = eq === -1 ? undefined : param.slice(eq + 1).trim();
    if (!TOKEN.test(key) || params.has(key)) return undefined;
    if (value?.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"')) return undefined;
      value = value.slice(1, -1).replace(/\\(.)/g, "$1");
    }
    switch (key) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== undefined) return undefined;
        break;
      case "server_max_window_bits":
        if (value === undefined || !WINDOW_BITS.test(value)) return undefined;
        break;
      case "client_max_window_bits":
        if (value !== undefined && !WINDOW_BITS.test(value)) return undefined;
        break;
      default:
        return undefined;
    }
    params.set(key, value);
  }
  return params;
}

/** The answer to one valid offer under `mode`, or undefined when this mode cannot honour it. */
function answerTo(params: Params, mode: "shared" | "dedicated"): string | undefined {
  if (mode === "shared") {
    // A shared compressor cannot limit its window for one client: decline rather than ignore it.
    return params.has("server_max_window_bits") ? undefined : SHARED_ANSWER;
  }
  // A dedicated compressor keeps its context (uWS cannot turn that off per socket) and has no 8-bit window.
  if (params.has("server_no_context_takeover") || params.get("server_max_window_bits") === "8") return undefined;
  let answer = NAME;
  if (params.has("client_no_context_takeover")) answer += "; client_no_context_takeover";
  const serverBits = params.get("server_max_window_bits");
  // §7.1.2.1: echo it with the same or a smaller value (uWS cannot say 15, so 15 is answered as 14).
  if (serverBits !== undefined) answer += `; server_max_window_bits=${Math.min(Number(serverBits), 14)}`;
  return answer;
}

/**
 * The `Sec-WebSocket-Extensions` answer to a client's offer (all its header lines joined with
 * ", "), or `""` to decline. The first acceptable permessage-deflate offer wins; invalid offers are
 * declined, never answered with an error (§5).
 */
export function negotiateDeflate(offer: string | undefined, mode: Compression): string {
  if (mode === "disabled" || offer === undefined || !offer.includes(NAME)) return "";
  for (const element of splitOutsideQuotes(offer, ",")) {
    const params = offerParams(element);
    if (params === undefined) continue;
    const answer = answerTo(params, mode);
    if (answer !== undefined) return answer;
  }
  return "";
}

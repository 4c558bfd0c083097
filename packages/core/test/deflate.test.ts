import { describe, expect, it } from "vitest";
import { negotiateDeflate } from "../src/deflate.js";

const SHARED = "permessage-deflate; client_no_context_takeover; server_no_context_takeover";

// [offer, shared answer, dedicated answer]: RFC 7692 §5 (decline invalid offers), §7.1.1 (context
// takeover), §7.1.2 (window bits: echo server_max_window_bits with a value no larger than offered).
const CASES: [string | undefined, string, string][] = [
  [undefined, "", ""],
  ["", "", ""],
  ["permessage-deflate", SHARED, "permessage-deflate"],
  ["permessage-deflate; client_max_window_bits", SHARED, "permessage-deflate"],
  ["permessage-deflate;client_max_window_bits", SHARED, "permessage-deflate"],
  ["permessage-deflate; client_max_window_bits=10", SHARED, "permessage-deflate"],
  ['permessage-deflate; client_max_window_bits="10"', SHARED, "permessage-deflate"],
  ["permessage-deflate; server_max_window_bits=10", "", "permessage-deflate; server_max_window_bits=10"],
  ["permessage-deflate; server_max_window_bits=15", "", "permessage-deflate; server_max_window_bits=14"],
  ["permessage-deflate; server_max_window_bits=8", "", ""],
  ["permessage-deflate; server_max_window_bits", "", ""],
  ["permessage-deflate; server_max_window_bits=16", "", ""],
  ["permessage-deflate; server_max_window_bits=010", "", ""],
  ["permessage-deflate; server_max_window_bits=abc", "", ""],
  ["permessage-deflate; client_max_window_bits=7", "", ""],
  ["permessage-deflate; server_no_context_takeover", SHARED, ""],
  ["permessage-deflate; client_no_context_takeover", SHARED, "permessage-deflate; client_no_context_takeover"],
  ["permessage-deflate; server_no_context_takeover=1", "", ""],
  ["permessage-deflate; client_no_context_takeover; client_no_context_takeover", "", ""],
  ["permessage-deflate; unknown_param", "", ""],
  ["permessage-deflate;", "", ""],
  ["permessage-deflate; server_max_window_bits=10, permessage-deflate", SHARED, "permessage-deflate; server_max_window_bits=10"],
  ["permessage-deflate; foo, permessage-deflate", SHARED, "permessage-deflate"],
  ["x-webkit-deflate-frame, permessage-deflate", SHARED, "permessage-deflate"],
  ["PERMESSAGE-DEFLATE", "", ""],
  [
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=11; client_no_context_takeover",
    "",
    "permessage-deflate; client_no_context_takeover; server_max_window_bits=12",
  ],
];

describe("negotiateDeflate", () => {
  it.each(CASES)("%j → shared %j, dedicated %j", (offer, shared, dedicated) => {
    expect(negotiateDeflate(offer, "shared")).toBe(shared);
    expect(negotiateDeflate(offer, "dedicated")).toBe(dedicated);
    expect(negotiateDeflate(offer, "disabled")).toBe("");
  });
});

import { assertSendableCloseCode, isSendableCloseCode, MAX_CLOSE_REASON_BYTES, truncateCloseReason } from "@verb/core";
import { describe, expect, it } from "vitest";

describe("close codes", () => {
  it("accepts exactly the codes that may be sent", () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      expect(isSendableCloseCode(code), String(code)).toBe(true);
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 4000.5, Number.NaN]) {
      expect(isSendableCloseCode(code), String(code)).toBe(false);
      expect(() => assertSendableCloseCode(code)).toThrow(RangeError);
    }
  });
});

describe("close reasons", () => {
  it("leaves short reasons alone", () => {
    const reason = "bye";
    expect(truncateCloseReason(reason)).toBe(reason);
  });

  it("cuts at 123 UTF-8 bytes without splitting a character", () => {
    const ascii = "a".repeat(200);
    expect(Buffer.byteLength(truncateCloseReason(ascii))).toBe(MAX_CLOSE_REASON_BYTES);
    const emoji = "😀".repeat(40); // 4 bytes each
    const cut = truncateCloseReason(emoji);
    expect(Buffer.byteLength(cut)).toBe(120);
    expect(cut).toBe("😀".repeat(30));
    const mixed = `${"a".repeat(121)}é€`; // 121 + 2 + 3 bytes
    expect(truncateCloseReason(mixed)).toBe(`${"a".repeat(121)}é`);
  });
});

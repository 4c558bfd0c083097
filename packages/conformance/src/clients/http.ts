/**
 * A raw HTTP/1.1 request over TCP: the path goes out exactly as written (no URL normalisation),
 * for path traversal checks.
 */

import { connect } from "node:net";

/** A parsed HTTP answer. */
export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `GET <path>` as is and reads the answer until the server closes. */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<RawHttpResponse> {
  return rawRequest(port, "GET", path, headers, timeoutMs);
}

/** Sends `<method> <path>` as is (any method, even one the Fetch API refuses) and reads the answer until the server closes. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${method} ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const lines = text.slice(0, end).split("\r\n");
      const parsed: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number((lines[0] ?? "").split(" ")[1]), headers: parsed, body: text.slice(end + 4) });
    });
    socket.on("connect", () => {
      const host = headers.Host ?? `127.0.0.1:${port}`;
      let request = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
      for (const [name, value] of Object.entries(headers)) if (name !== "Host") request += `${name}: ${value}\r\n`;
      socket.write(`${request}\r\n`);
    });
  });
}

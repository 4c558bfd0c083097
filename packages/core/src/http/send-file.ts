/**
 * `res.sendFile`: a file under a root folder, with Content-Type, Content-Length, ETag,
 * Last-Modified and 304s. Paths that leave the root are refused (403); missing files are 404.
 */

import { openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";

/** Options of `res.sendFile`. */
export interface SendFileOptions {
  /** Folder the path is resolved against and may not leave. Default: the server's `fileRoot` (the working directory). */
  root?: string;
  /** `Cache-Control` value. Default `no-cache` (revalidate with the ETag). */
  cacheControl?: string;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".avif": "image/avif",
  ".wasm": "application/wasm",
  ".pdf": "application/pdf",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".ogg": "audio/ogg",
  ".mp4": "video/mp4",
  ".webm": "video/webm",
  ".zip": "application/zip",
};

/** Content type for a file name (`application/octet-stream` when unknown). */
export function contentTypeFor(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/** The outcome of resolving a file: a status and headers, plus a body for 200. */
export interface FileAnswer {
  status: number;
  headers: Record<string, string>;
  body: Blob | string | null;
}

function plain(status: number, message: string): FileAnswer {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: message };
}

/** Resolves `path` under `root` and answers it for a request with these headers. */
export async function answerFile(
  path: string,
  root: string,
  requestHeaders: Record<string, string>,
  method: string,
  options: SendFileOptions = {},
): Promise<FileAnswer> {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) return plain(400, "Bad file path");
  const base = resolve(root);
  const target = resolve(base, path);
  const inside = relative(base, target);
  // A ".." segment is refused whichever separator hides it (a backslash is one on Windows).
  const climbs = path.split(/[\\/]/).includes("..");
  if (climbs || inside === "" || inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside)) {
    return plain(403, "Forbidden");
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch {
    return plain(404, "Not Found");
  }
  if (!info.isFile()) return plain(404, "Not Found");
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000);
  const headers: Record<string, string> = {
    "content-type": contentTypeFor(target),
    etag,
    "last-modified": lastModified.toUTCString(),
    "cache-control": options.cacheControl ?? "no-cache",
  };
  const ifNoneMatch = requestHeaders["if-none-match"];
  const ifModifiedSince = requestHeaders["if-modified-since"];
  const notModified =
    ifNoneMatch !== undefined
      ? ifNoneMatch.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*")
      : ifModifiedSince !== undefined && Date.parse(ifModifiedSince) >= lastModified.getTime();
  if (notModified) return { status: 304, headers, body: null };
  headers["content-length"] = String(info.size);
  if (method === "HEAD") return { status: 200, headers, body: null };
  // A file-backed Blob: its size is known, so every engine sends Content-Length, and it streams from disk.
  return { status: 200, headers, body: await openAsBlob(target) };
}

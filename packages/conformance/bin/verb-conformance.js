#!/usr/bin/env node
// The published entry point. It lives outside dist/ so that npm links it at install time, even in
// a workspace where the package is built after `npm ci`.
import("../dist/cli.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli.js")) {
    process.stderr.write("verb-conformance: the package is not built yet; run `npm run build` first\n");
    process.exit(2);
  }
  throw error;
});

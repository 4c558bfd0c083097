import { createMessageRouter } from "@verb/core";
import { afterEach, expect, it } from "vitest";
import { closeAll, connect, opened, startServer } from "./helpers.js";

afterEach(closeAll);

it("connects, gets a welcome, requests", async () => {
  const router = createMessageRouter().on("echo", (_ws, data) => ({ echoed: data }));
  const server = await startServer({ websocket: { message: router.handle } });
  const client = connect(server.url);
  const states: string[] = [];
  client.on("state", (s) => states.push(s));
  const info = await opened(client);
  expect(info.resumed).toBe(false);
  expect(client.state).toBe("open");
  const reply = await client.request("echo", { x: 1 });
  expect(reply).toEqual({ echoed: { type: "echo", x: 1 } });
  await client.close();
  expect(states).toEqual(["open", "closed"]);
  await server.close();
});

// Real-time stock prices (the spec's "Real-time Data Streaming"): {"action":"subscribe","symbol":"AAPL"}
// gets the current price at once, then every update; prices move every STOCK_INTERVAL_MS (1000).
// Updates fan out as topic publishes, in the engine.
// Run: bun examples/stocks.ts · node examples/dist/stocks.js · VERB_ADAPTER=uws node examples/dist/stocks.js
import { createServer } from "@verb/core";

const port = Number(process.env.PORT ?? 3000);
const interval = Number(process.env.STOCK_INTERVAL_MS ?? 1000);
const symbols = ["AAPL", "GOOGL", "MSFT", "TSLA"];
const stockPrices = new Map<string, number>(symbols.map((symbol) => [symbol, 100]));
const topic = (symbol: string) => `stock:${symbol}`;

const app = createServer();

const updateStockPrice = (symbol: string, price: number) => {
  stockPrices.set(symbol, price);
  app.publish(topic(symbol), JSON.stringify({ type: "stock_update", symbol, price, timestamp: Date.now() }));
};

app.withOptions({
  port,
  websocket: {
    message: (ws, message) => {
      let data: { action?: unknown; symbol?: unknown };
      try {
        data = JSON.parse(String(message));
      } catch {
        ws.send(JSON.stringify({ type: "error", message: "Invalid message format" }));
        return;
      }
      const symbol = String(data.symbol ?? "").toUpperCase();
      switch (data.action) {
        case "subscribe": {
          if (!stockPrices.has(symbol)) {
            ws.send(JSON.stringify({ type: "error", message: `Unknown symbol: ${symbol}` }));
            return;
          }
          ws.subscribe(topic(symbol));
          // Send current price
          ws.send(JSON.stringify({ type: "stock_update", symbol, price: stockPrices.get(symbol) }));
          return;
        }
        case "unsubscribe":
          ws.unsubscribe(topic(symbol));
          ws.send(JSON.stringify({ type: "unsubscribed", symbol }));
          return;
        default:
          ws.send(JSON.stringify({ type: "error", message: `Unknown action: ${String(data.action)}` }));
      }
    },
  },
});

// Simulate price updates
setInterval(() => {
  for (const symbol of symbols) {
    const currentPrice = stockPrices.get(symbol) ?? 100;
    const newPrice = currentPrice + (Math.random() - 0.5) * 10;
    updateStockPrice(symbol, Math.max(0, newPrice));
  }
}, interval);

const server = await app.listen(port);
console.log(`Stock prices on ${server.url.replace("http", "ws")} (adapter: ${server.adapter})`);

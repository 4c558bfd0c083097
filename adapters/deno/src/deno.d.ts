/**
 * The part of Deno's API the adapter uses, as `deno types` (Deno 2.9) declares it. Deno's full
 * declarations replace the DOM and Node libraries the workspace type-checks against, so only
 * these are declared here.
 */
declare namespace Deno {
  const version: { deno: string };

  interface NetAddr {
    transport: "tcp" | "udp";
    hostname: string;
    port: number;
  }

  interface ServeHandlerInfo {
    remoteAddr: NetAddr;
    completed: Promise<void>;
  }

  interface ServeTcpOptions {
    port?: number;
    hostname?: string;
    signal?: AbortSignal;
    onError?: (error: unknown) => Response | Promise<Response>;
    onListen?: (localAddr: NetAddr) => void;
  }

  interface HttpServer {
    finished: Promise<void>;
    addr: NetAddr;
    shutdown(): Promise<void>;
  }

  function serve(
    options: ServeTcpOptions,
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): HttpServer;

  interface UpgradeWebSocketOptions {
    protocol?: string;
    idleTimeout?: number;
  }

  function upgradeWebSocket(request: Request, options?: UpgradeWebSocketOptions): { response: Response; socket: WebSocket };
}

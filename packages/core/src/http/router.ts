/**
 * Path router: static paths in one hash map (O(1) whatever the number of routes), patterns
 * with `:params` and `*` wildcards in a segment tree. No regular expression runs per request.
 */

/** Route pattern segments: `/users/:id`, `/files/*` (the rest of the path, in `params["*"]`). */
export type RoutePattern = string;

interface RouteNode<H> {
  readonly statics: Map<string, RouteNode<H>>;
  param: { readonly name: string; readonly node: RouteNode<H> } | undefined;
  wildcard: RouteNode<H> | undefined;
  /** Handlers by upper-case method; `*` for every method. */
  readonly methods: Map<string, H>;
}

/** A successful match. */
export interface RouteMatch<H> {
  readonly kind: "found";
  readonly handler: H;
  readonly params: Record<string, string>;
}

/** The path exists but not for this method: answer 405 with these methods in `Allow`. */
export interface MethodMismatch {
  readonly kind: "method";
  readonly allow: readonly string[];
}

function createNode<H>(): RouteNode<H> {
  return { statics: new Map(), param: undefined, wildcard: undefined, methods: new Map() };
}

/** Removes a trailing slash (except for `/`) so `/a/` and `/a` are one route. */
export function normalizePath(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function safeDecode(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A method + path router; `H` is whatever the caller stores per route. */
export class Router<H> {
  readonly #root: RouteNode<H> = createNode();
  /** Fully static paths, looked up before walking the tree. */
  readonly #static = new Map<string, RouteNode<H>>();
  /** Whether any route has a parameter or a wildcard (without, the static map answers alone). */
  #dynamic = false;

  /** Adds a route. `method` is upper-case or `*` for any method. Throws on a malformed pattern or a duplicate. */
  add(method: string, pattern: RoutePattern, handler: H): void {
    if (typeof pattern !== "string" || !pattern.startsWith("/")) {
      throw new TypeError(`Route path must start with "/"; got ${JSON.stringify(pattern)}`);
    }
    const segments = normalizePath(pattern).split("/").slice(1);
    let node = this.#root;
    let isStatic = true;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as string;
      if (segment === "*") {
        if (i !== segments.length - 1) throw new TypeError(`"*" must be the last segment of a route: ${pattern}`);
        node.wildcard ??= createNode();
        node = node.wildcard;
        isStatic = false;
      } else if (segment.startsWith(":")) {
        const name = segment.slice(1);
        if (name.length === 0) throw new TypeError(`Route parameter without a name in ${pattern}`);
        if (node.param === undefined) node.param = { name, node: createNode() };
        else if (node.param.name !== name) {
          throw new TypeError(`Route ${pattern} names parameter ":${name}" where another route uses ":${node.param.name}"`);
        }
        node = node.param.node;
        isStatic = false;
      } else {
        let next = node.statics.get(segment);
        if (next === undefined) {
          next = createNode();
          node.statics.set(segment, next);
        }
        node = next;
      }
    }
    if (node.methods.has(method)) throw new TypeError(`Route ${method} ${pattern} is already defined`);
    node.methods.set(method, handler);
    if (isStatic) this.#static.set(normalizePath(pattern), node);
    else this.#dynamic = true;
  }

  /** Finds the route for a method and a path (path without query string). */
  match(method: string, path: string): RouteMatch<H> | MethodMismatch | undefined {
    const normalized = normalizePath(path);
    const staticNode = this.#static.get(normalized);
    if (staticNode !== undefined) {
      const found = this.#pick(staticNode, method, {});
      if (found !== undefined) return found;
    }
    // Only static routes: the map is the whole answer (no segments made).
    if (!this.#dynamic) {
      return staticNode === undefined ? undefined : { kind: "method", allow: this.#allow(staticNode) };
    }
    const params: Record<string, string> = {};
    const segments = normalized.split("/").slice(1);
    if (segments.length === 1 && segments[0] === "") segments.length = 0;
    const node = this.#walk(this.#root, segments, 0, params, method);
    if (node !== undefined) {
      const found = this.#pick(node, method, params);
      if (found !== undefined) return found;
      return { kind: "method", allow: this.#allow(node) };
    }
    // Found a path only for other methods?
    const anyNode = this.#walk(this.#root, segments, 0, {}, undefined);
    if (anyNode !== undefined) return { kind: "method", allow: this.#allow(anyNode) };
    if (staticNode !== undefined) return { kind: "method", allow: this.#allow(staticNode) };
    return undefined;
  }

  #pick(node: RouteNode<H>, method: string, params: Record<string, string>): RouteMatch<H> | undefined {
    const handler =
      node.methods.get(method) ?? (method === "HEAD" ? node.methods.get("GET") : undefined) ?? node.methods.get("*");
    return handler === undefined ? undefined : { kind: "found", handler, params };
  }

  #allow(node: RouteNode<H>): string[] {
    const methods = new Set<string>();
    for (const m of node.methods.keys()) {
      if (m === "*") continue;
      methods.add(m);
      if (m === "GET") methods.add("HEAD");
    }
    return [...methods].sort();
  }

  /** Depth-first walk: static before parameter before wildcard. With `method`, only nodes serving it count. */
  #walk(
    node: RouteNode<H>,
    segments: string[],
    index: number,
    params: Record<string, string>,
    method: string | undefined,
  ): RouteNode<H> | undefined {
    if (index === segments.length) {
      if (node.methods.size > 0 && (method === undefined || this.#pick(node, method, params) !== undefined)) return node;
      // `/files/*` also matches `/files`.
      const wildcard = node.wildcard;
      if (wildcard !== undefined && (method === undefined || this.#pick(wildcard, method, params) !== undefined)) {
        params["*"] = "";
        return wildcard;
      }
      return undefined;
    }
    const segment = segments[index] as string;
    const next = node.statics.get(segment);
    if (next !== undefined) {
      const found = this.#walk(next, segments, index + 1, params, method);
      if (found !== undefined) return found;
    }
    if (node.param !== undefined && segment.length > 0) {
      const found = this.#walk(node.param.node, segments, index + 1, params, method);
      if (found !== undefined) {
        params[node.param.name] = safeDecode(segment);
        return found;
      }
    }
    const wildcard = node.wildcard;
    if (wildcard !== undefined && (method === undefined || this.#pick(wildcard, method, params) !== undefined)) {
      params["*"] = segments.slice(index).map(safeDecode).join("/");
      return wildcard;
    }
    return undefined;
  }
}

/** A small typed event emitter: listeners run in the order added; one that throws does not stop the others. */

type EventMap = { [event: string]: (...args: never[]) => void };

export class Emitter<Events extends EventMap> {
  /** Copy on write: an emit iterates the array it read, so adding or removing during one is safe. */
  #listeners: { [E in keyof Events]?: Events[E][] } = {};
  readonly #failed: (error: unknown, event: keyof Events) => void;

  constructor(failed: (error: unknown, event: keyof Events) => void) {
    this.#failed = failed;
  }

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    if (typeof listener !== "function") throw new TypeError(`The "${String(event)}" listener must be a function`);
    const list: Events[E][] = this.#listeners[event] ?? [];
    this.#listeners[event] = [...list, listener];
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    const list = this.#listeners[event];
    if (list === undefined) return;
    const at = list.indexOf(listener);
    if (at === -1) return;
    const rest = list.filter((_, i) => i !== at);
    this.#listeners[event] = rest.length === 0 ? undefined : rest;
  }

  has(event: keyof Events): boolean {
    return this.#listeners[event] !== undefined;
  }

  /** The listeners of `event` (for hot paths that call them without a rest array). */
  listeners<E extends keyof Events>(event: E): readonly Events[E][] | undefined {
    return this.#listeners[event];
  }

  /** Reports a listener's failure the way `emit` does. */
  failed(error: unknown, event: keyof Events): void {
    this.#failed(error, event);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const list = this.#listeners[event];
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as Events[E])(...args);
      } catch (error) {
        this.#failed(error, event);
      }
    }
  }

  clear(): void {
    this.#listeners = {};
  }
}

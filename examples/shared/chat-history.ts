// Chat history per room: the spec's ChatRoom keeps at most 100 messages and shows newcomers the last 20.

/** Messages kept per room. */
export class ChatHistory<Message> {
  readonly #rooms = new Map<string, Message[]>();
  readonly #limit: number;

  constructor(limit = 100) {
    this.#limit = limit;
  }

  add(roomId: string, message: Message): void {
    let messages = this.#rooms.get(roomId);
    if (messages === undefined) {
      messages = [];
      this.#rooms.set(roomId, messages);
    }
    messages.push(message);
    if (messages.length > this.#limit) messages.splice(0, messages.length - this.#limit);
  }

  recent(roomId: string, count = 20): Message[] {
    return (this.#rooms.get(roomId) ?? []).slice(-count);
  }

  size(roomId: string): number {
    return this.#rooms.get(roomId)?.length ?? 0;
  }
}

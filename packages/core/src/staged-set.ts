/**
 * A set that holds its newest member aside. An upgrade that is decided and opened in one go adds
 * itself and is deleted again at once; in a plain `Set` that sits near empty, V8 reallocates the
 * hash table as it grows and shrinks, so every connection would leave garbage behind. Here that
 * add and delete touch one field.
 */
export class StagedSet<T> {
  readonly #members = new Set<T>();
  #staged: T | undefined = undefined;

  get size(): number {
    return this.#members.size + (this.#staged === undefined ? 0 : 1);
  }

  add(value: T): void {
    if (this.#staged === value || this.#members.has(value)) return;
    if (this.#staged !== undefined) this.#members.add(this.#staged);
    this.#staged = value;
  }

  /** Removes `value`; whether it was there. */
  delete(value: T): boolean {
    if (this.#staged === value) {
      this.#staged = undefined;
      return true;
    }
    return this.#members.delete(value);
  }

  has(value: T): boolean {
    return this.#staged === value || this.#members.has(value);
  }

  /** A snapshot of the members (safe to delete from while going through it). */
  toArray(): T[] {
    const all = [...this.#members];
    if (this.#staged !== undefined) all.push(this.#staged);
    return all;
  }
}

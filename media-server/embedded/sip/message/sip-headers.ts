import { canonicalHeaderName, headerKey, isListHeader } from './header-names.js';

/** One header line as stored: canonical name, value without surrounding whitespace. */
export interface SipHeaderField {
  readonly name: string;
  readonly value: string;
}

interface StoredField {
  name: string;
  key: string;
  value: string;
}

/**
 * Splits a list header's value on the commas that separate its elements:
 * those outside quoted strings and angle brackets (RFC 3261 §7.3.1). Elements
 * come back trimmed; empty ones are dropped.
 */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let bracketed = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) bracketed = true;
    else if (c === 0x3e) bracketed = false;
    else if (c === 0x2c && !bracketed) {
      const element = value.slice(start, i).trim();
      if (element.length > 0) out.push(element);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}

/**
 * The header fields of a SIP message, in order (RFC 3261 §7.3.1: the
 * relative order of fields with the same name is significant). Lookups take
 * any case and compact forms (`get('v')` is `get('Via')`); fields are stored
 * under canonical names. For list headers (Via, Contact, Route, Allow…)
 * `get` and `getAll` see elements, whether they came on one line or several.
 */
export class SipHeaders implements Iterable<SipHeaderField> {
  #fields: StoredField[] = [];

  constructor(fields: Iterable<readonly [name: string, value: string]> = []) {
    for (const [name, value] of fields) this.append(name, value);
  }

  /** Number of header lines. */
  get size(): number {
    return this.#fields.length;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    return this.#fields.some((f) => f.key === key);
  }

  /** The first value: of a list header, its first element (the top Via). */
  get(name: string): string | undefined {
    const key = headerKey(name);
    const field = this.#fields.find((f) => f.key === key);
    if (!field) return undefined;
    return isListHeader(key) ? splitHeaderValues(field.value)[0] : field.value;
  }

  /** Every value in order: of a list header, every element of every line. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const list = isListHeader(key);
    const out: string[] = [];
    for (const f of this.#fields) {
      if (f.key !== key) continue;
      if (list) out.push(...splitHeaderValues(f.value));
      else out.push(f.value);
    }
    return out;
  }

  /** The values of each line of that name, unsplit (for copying lines as they came). */
  getLines(name: string): string[] {
    const key = headerKey(name);
    return this.#fields.filter((f) => f.key === key).map((f) => f.value);
  }

  /** Adds a line after all others. */
  append(name: string, value: string): this {
    this.#fields.push({ name: canonicalHeaderName(name), key: headerKey(name), value: value.trim() });
    return this;
  }

  /** Adds a line before all others of that name (a new top Via, RFC 3261 §16.6 step 8); else at the end. */
  prepend(name: string, value: string): this {
    const key = headerKey(name);
    const field = { name: canonicalHeaderName(name), key, value: value.trim() };
    const index = this.#fields.findIndex((f) => f.key === key);
    if (index === -1) this.#fields.push(field);
    else this.#fields.splice(index, 0, field);
    return this;
  }

  /** Replaces every line of that name by one, where the first was; appends when there was none. */
  set(name: string, value: string): this {
    const key = headerKey(name);
    const index = this.#fields.findIndex((f) => f.key === key);
    if (index === -1) return this.append(name, value);
    (this.#fields[index] as StoredField).value = value.trim();
    for (let i = this.#fields.length - 1; i > index; i--) {
      if ((this.#fields[i] as StoredField).key === key) this.#fields.splice(i, 1);
    }
    return this;
  }

  /** Removes every line of that name; returns how many there were. */
  delete(name: string): number {
    const key = headerKey(name);
    const before = this.#fields.length;
    for (let i = before - 1; i >= 0; i--) {
      if ((this.#fields[i] as StoredField).key === key) this.#fields.splice(i, 1);
    }
    return before - this.#fields.length;
  }

  /**
   * Replaces the first value (of a list header, its first element, leaving
   * the others of that line in place): how the top Via gets its `received`
   * and `rport` (RFC 3261 §18.2.1, RFC 3581 §4). False when there is none.
   */
  replaceFirst(name: string, value: string): boolean {
    const key = headerKey(name);
    const field = this.#fields.find((f) => f.key === key);
    if (!field) return false;
    if (!isListHeader(key)) {
      field.value = value.trim();
      return true;
    }
    const elements = splitHeaderValues(field.value);
    elements[0] = value.trim();
    field.value = elements.join(', ');
    return true;
  }

  /**
   * Removes the first value (of a list header, its first element; the line
   * goes when it was the last): how a UAC drops its own Via from a response,
   * or a proxy a Route it has consumed. Returns the removed value.
   */
  removeFirst(name: string): string | undefined {
    const key = headerKey(name);
    const index = this.#fields.findIndex((f) => f.key === key);
    if (index === -1) return undefined;
    const field = this.#fields[index] as StoredField;
    const elements = isListHeader(key) ? splitHeaderValues(field.value) : [field.value];
    const removed = elements.shift();
    if (elements.length === 0) this.#fields.splice(index, 1);
    else field.value = elements.join(', ');
    return removed;
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    for (const f of this.#fields) copy.#fields.push({ ...f });
    return copy;
  }

  *[Symbol.iterator](): IterableIterator<SipHeaderField> {
    for (const f of this.#fields) yield { name: f.name, value: f.value };
  }

  /** Header lines as `[name, value]` pairs, e.g. for `toEqual` in tests. */
  entries(): Array<[name: string, value: string]> {
    return this.#fields.map((f) => [f.name, f.value]);
  }

  /** @internal Parser fast path: name already canonical, key lower-case, value trimmed. */
  static fromParsed(fields: StoredField[]): SipHeaders {
    const headers = new SipHeaders();
    headers.#fields = fields;
    return headers;
  }
}

/** @internal The parser builds fields in this shape. */
export type ParsedHeaderField = StoredField;

/** Python literals for generated source: what a spec's strings and numbers become in `model.py`. */

/** A Python string literal for `text`, any characters (lone surrogates and controls escaped). */
export function pyString(text: string): string {
  let literal = "'";
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '\\' || char === "'") literal += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) literal += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) literal += `\\u${code.toString(16)}`;
    else literal += char;
  }
  return `${literal}'`;
}

/** A Python number literal for a finite `value` (JavaScript's shortest form reads back exactly). */
export function pyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`pyNumber: ${value} has no Python literal`);
  return String(value);
}

/** A Python float literal for a finite `value` (`0.0`, `1e-05`): the value as Python's float. */
export function pyFloat(value: number): string {
  const text = pyNumber(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** `None` for `undefined`, else `literal(value)`. */
export function pyOptional<T>(value: T | undefined, literal: (value: T) => string): string {
  return value === undefined ? 'None' : literal(value);
}

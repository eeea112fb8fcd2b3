/**
 * The one error type gradlab throws. `code` is stable and machine-readable; `op` names the
 * operation, `arg` the argument, `expected`/`actual` what was wanted and what came.
 */
export type GradlabErrorCode =
  | 'InvalidArgument'
  | 'ShapeMismatch'
  | 'InvalidHandle'
  | 'NonFinite'
  | 'TooLarge'
  | 'InvalidState'
  | 'InvalidSpec'
  | 'Disposed'
  | 'WorkerDied'
  /** The `.wasm` could not be fetched or compiled, or a worker could not start (`actual` says why: the URL and HTTP status, or the module's error). */
  | 'LoadFailed'
  /** An optional package a function needs is not installed (`arg` names it). */
  | 'MissingPackage';

/** The fields of a {@link GradlabError}, as plain data (what crosses a worker boundary). */
export interface GradlabErrorData {
  code: GradlabErrorCode;
  message: string;
  op?: string;
  arg?: string;
  expected?: string;
  actual?: string;
  /** For `NonFinite`: the layer where the value first went non-finite. */
  layer?: string;
}

export class GradlabError extends Error {
  readonly code: GradlabErrorCode;
  readonly op?: string;
  readonly arg?: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly layer?: string;

  constructor(data: GradlabErrorData) {
    super(data.message);
    this.name = 'GradlabError';
    this.code = data.code;
    this.op = data.op;
    this.arg = data.arg;
    this.expected = data.expected;
    this.actual = data.actual;
    this.layer = data.layer;
  }

  /** Plain data, for sending across a worker boundary. */
  toJSON(): GradlabErrorData {
    const { code, message, op, arg, expected, actual, layer } = this;
    return { code, message, op, arg, expected, actual, layer };
  }
}

/** Formats a shape the way error messages show it: `[2, 3]`. */
export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throws an `InvalidArgument` error for `op`'s argument `arg`. */
export function invalidArgument(op: string, arg: string, expected: string, actual: string): never {
  throw new GradlabError({
    code: 'InvalidArgument',
    op,
    arg,
    expected,
    actual,
    message: `${op}: argument '${arg}' must be ${expected}, got ${actual}`,
  });
}

/** Throws a `ShapeMismatch` error for `op`'s argument `arg`. */
export function shapeMismatch(op: string, arg: string, expected: string, actual: string): never {
  throw new GradlabError({
    code: 'ShapeMismatch',
    op,
    arg,
    expected,
    actual,
    message: `${op}: '${arg}' has shape ${actual}, expected ${expected}`,
  });
}

/** A JavaScript number for a numeric argument, before it crosses; its range is the core's to check. */
export function numberArg(op: string, arg: string, value: unknown): number {
  if (typeof value !== 'number') invalidArgument(op, arg, 'a number', describe(value));
  return value;
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

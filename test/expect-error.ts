/**
 * Catching gradlab's typed errors in tests: the error must be a GradlabError, so its `code`,
 * `arg`, `expected` and `actual` can be asserted.
 */
import { expect } from 'vitest';
import { GradlabError } from '../dist/ts/index.js';

/** Runs `body` and returns the GradlabError it throws (fails when it throws nothing or something else). */
export function errorOf(body: () => unknown): GradlabError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(GradlabError);
    return error as GradlabError;
  }
  throw new Error('expected a GradlabError');
}

/** {@link errorOf} for an async `body`. */
export async function errorOfAsync(body: () => Promise<unknown>): Promise<GradlabError> {
  try {
    await body();
  } catch (error) {
    expect(error).toBeInstanceOf(GradlabError);
    return error as GradlabError;
  }
  throw new Error('expected a GradlabError');
}

/** {@link errorOf}, asserting the error's `code` and, when given, its `arg`. */
export function expectError(body: () => unknown, code: string, arg?: string): GradlabError {
  const error = errorOf(body);
  expect(error.code).toBe(code);
  if (arg !== undefined) expect(error.arg).toBe(arg);
  return error;
}

/** {@link expectError} for a promise that should reject. */
export async function expectRejection(promise: Promise<unknown>, code: string, arg?: string): Promise<GradlabError> {
  const error = await errorOfAsync(() => promise);
  expect(error.code).toBe(code);
  if (arg !== undefined) expect(error.arg).toBe(arg);
  return error;
}

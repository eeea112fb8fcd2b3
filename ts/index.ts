/**
 * gradlab: see and fix vanishing and exploding gradients. A Rust + WebAssembly SIMD core
 * behind a TypeScript API for Node and browsers.
 *
 * @packageDocumentation
 */
export { GradlabError, type GradlabErrorCode, type GradlabErrorData } from './errors.js';
export { init, type WasmSource } from './wasm.js';

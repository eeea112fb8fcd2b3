/**
 * gradlab's entry point for Node (the package's `node` export condition): Node's platform
 * (files, worker_threads, cores) installed first, then the same API as every other runtime.
 *
 * @packageDocumentation
 */
import './runtime/node-platform.js';

export * from './index.js';

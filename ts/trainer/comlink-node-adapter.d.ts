// Comlink ships this ESM entry without a .d.mts beside it; these are the types of its .d.ts twin.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  /** Adapts a worker_threads MessagePort or Worker to the endpoint Comlink expects. */
  export default function nodeEndpoint(port: {
    postMessage(message: unknown, transfer?: readonly unknown[]): void;
    on(type: string, listener: (value: unknown) => void): unknown;
    off(type: string, listener: (value: unknown) => void): unknown;
    start?: () => void;
  }): Endpoint;
}

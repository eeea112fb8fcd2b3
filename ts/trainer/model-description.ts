/**
 * What a worker reports about the model it built. Apart from the rest of the worker protocol,
 * because the public `Trainer` type shows it and must not pull in Comlink's types (which need
 * the DOM library).
 */
/** The shapes of a model, as its worker reports them after creating it. */
export interface ModelDescription {
  inputShape: number[];
  outputShape: number[];
  entries: { name: string; shape: number[]; trainable: boolean }[];
}

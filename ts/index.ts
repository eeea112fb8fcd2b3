/**
 * gradlab: see and fix vanishing and exploding gradients. A Rust + WebAssembly SIMD core
 * behind a TypeScript API for Node and browsers.
 *
 * @packageDocumentation
 */
export { GradlabError, type GradlabErrorCode, type GradlabErrorData } from './runtime/errors.js';
export { init, type Core, type WasmSource } from './runtime/wasm.js';
export { setAssetPaths, type AssetPaths } from './runtime/assets.js';
export type { Activation, Init, LayerSpec, LossName, ModelSpec, OptimizerSpec, ScheduleSpec, DenseSpec, ActivationSpec, BatchNormSpec, ResidualSpec, RecurrentSpec } from './model/spec.js';
export { validateSpec } from './model/spec.js';
export { pretrain, createRbm, createRbmSync, numRbms, Rbm, type CreateRbmOptions, type LayerPretrainReport, type PretrainMethod, type PretrainOptions, type PretrainReport, type RbmParameters, type RbmTrainOptions } from './model/pretrain.js';
export { loadMnist, MNIST_CLASSES, MNIST_MAX_PER_DIGIT, MNIST_PIXELS, type MnistData, type MnistOptions } from './data/mnist.js';
export {
  createModel,
  createModelSync,
  numModels,
  Model,
  type CreateModelOptions,
  type GradientsResult,
  type LayerDiagnostics,
  type Labels,
  type LossResult,
  type StateDict,
  type StepResult,
  type TensorData,
  type TensorLike,
} from './model/model.js';
export { encodeSafetensors, decodeSafetensors, safetensorsMetadata, toSafetensors, fromSafetensors } from './model/safetensors.js';
export { addingProblem, firstSymbolTask, addingAccuracy, type AddingProblemOptions, type FirstSymbolOptions, type RegressionTask, type ClassificationTask } from './data/tasks.js';
export { fit, evaluate, type Dataset, type EpochResult, type EvaluateResult, type FitOptions, type History, type StepProgress } from './model/training.js';
export { Tensor, tensor, scope, keep, numTensors, type TensorOptions, type TensorValues, type NestedArray } from './eager/tensor.js';
export * from './eager/ops.js';
export * as kernels from './eager/kernels.js';
export { simdEnabled } from './eager/kernels.js';
export { createTrainer, Trainer, type CreateTrainerOptions, type TrainerFitOptions } from './trainer/trainer.js';
export { capabilities, type Capabilities } from './runtime/capabilities.js';
export type { CreateWorker, NodeWorkerHandle, TrainerWorkerHandle, WebWorkerHandle } from './trainer/worker-handle.js';

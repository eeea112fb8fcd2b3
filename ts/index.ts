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
export { createModel, createModelSync, numModels, Model, type CreateModelOptions } from './model/model.js';
export type {
  Dataset,
  EpochResult,
  EvaluateResult,
  GradientsResult,
  History,
  LayerDiagnostics,
  Labels,
  LossResult,
  StateDict,
  StepProgress,
  StepResult,
  TensorData,
  TensorLike,
} from './model/types.js';
export { encodeSafetensors, decodeSafetensors, safetensorsMetadata, toSafetensors, fromSafetensors } from './model/safetensors.js';
export { addingProblem, firstSymbolTask, addingAccuracy, type AddingProblemOptions, type FirstSymbolOptions, type RegressionTask, type ClassificationTask } from './data/tasks.js';
export { fit, evaluate, type FitOptions, type TrainableModel } from './model/training.js';
export { Tensor, tensor, scope, keep, numTensors, type TensorOptions, type TensorValues, type NestedArray } from './eager/tensor.js';
export * from './eager/ops.js';
export * as kernels from './eager/kernels.js';
export { simdEnabled } from './eager/kernels.js';
export { createTrainer, Trainer, type CreateTrainerOptions, type TrainerFitOptions } from './trainer/trainer.js';
export { capabilities, type Capabilities } from './runtime/capabilities.js';
export type { CreateWorker, NodeWorkerHandle, TrainerWorkerHandle, WebWorkerHandle } from './trainer/worker-handle.js';
export { exportOnnx, exportOnnxFromStateDict, ONNX_OPSET, ONNX_INPUT, ONNX_OUTPUT } from './export/onnx.js';
export { exportTorch, type ExportTorchOptions, type TorchExport } from './export/torch.js';
export type { LayerMeasurements, HealthHistogram } from './model/model.js';
export { diagnose, type DiagnoseOptions, type DiagnoseProgress } from './doctor/diagnose.js';
export { loadDataFile, formatOf, DATA_FORMATS, type DataFile, type DataFileOptions, type DataFormat } from './data/formats/file.js';
export { builtinDataset, parseBuiltinSource, type BuiltinSource } from './data/formats/builtin.js';
export { toDataset, type DataTarget } from './data/formats/dataset.js';
export { parseCsv, type CsvOptions, type CsvTable } from './data/formats/csv.js';
export { parseNpy } from './data/formats/npy.js';
export { parseNpz } from './data/formats/npz.js';
export type { ParsedArray } from './data/formats/parsed-array.js';
export { loadDataSource, dataTargetOf, type DataSourceOptions } from './data/formats/source.js';
export { renderDoctorHtml, renderDoctorReport, DOCTOR_STYLE, type DoctorHtmlMeta } from './doctor/html.js';
export type { DoctorReport, Finding, Histogram, LayerHealth, RemedyName, Trial, TrialMetrics, Verdict } from './doctor/report.js';

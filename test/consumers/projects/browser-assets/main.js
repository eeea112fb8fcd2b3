import * as gradlab from 'gradlab';
import { train } from './train.js';

// esbuild and Rollup emit no assets: the page serves the .wasm and the package's self-contained
// worker (gradlab/gradlab.wasm and gradlab/cdn/worker, copied by the build) beside its bundle.
gradlab.setAssetPaths({ wasm: './gradlab.wasm', worker: './trainer.worker.js' });
train(gradlab).then(
  (result) => (window.gradlabResult = result),
  (error) => (window.gradlabFailure = String(error?.stack ?? error)),
);

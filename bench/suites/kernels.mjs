/**
 * Kernel throughput: gradlab's SIMD128 sgemm (GFLOP/s) for n = 64…1024 in the layouts
 * A·B, Aᵀ·B and A·Bᵀ, and its elementwise/activation kernels on 1M elements (ms), against
 * pure JS, tfjs-cpu and tfjs-wasm (XNNPACK SIMD, one thread) in the same run.
 *
 * gradlab runs on matrices staged in WASM memory once (`kernels.StagedMatrix`), as tfjs keeps
 * its tensors in its own memory and PyTorch its own: every side times the kernel, not copies.
 * Every group alternates short turns between its contenders (`alternate`). Pure JS and
 * tfjs-cpu (about 0.5 GFLOP/s: 0.5 s per 512³ product) stop at n = 256, tfjs-wasm's transposed
 * layouts (about 1.4 GFLOP/s) at n = 512; PyTorch (OpenBLAS, 1 thread and all cores) runs A·B.
 *
 *   node bench/suites/kernels.mjs [--quick]
 */
import { ELEMENTS, SOFTMAX_COLUMNS, makePureJsElementwise, makeTfjsElementwise } from '../baselines/elementwise.mjs';
import { randomArray } from '../baselines/random.mjs';
import { makePureJsMatmul, makeTfjsMatmul, sgemmFlops } from '../baselines/sgemm.mjs';
import { wasmInfo } from '../baselines/tfjs.mjs';
import { torchContenders, torchInfo } from '../baselines/pytorch.mjs';
import { GRADLAB, alternate, loadGradlab, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

/** WASM SIMD128 f32x4 mul+add peak on this kind of machine (ANCHORS.md). */
const SIMD128_PEAK_GFLOPS = 38.9;
const SIZES = [64, 128, 256, 512, 1024];
const QUICK_SIZES = [64, 256];
/** The sizes the sgemm targets are judged on. */
const TARGET_SIZES = [256, 512, 1024];
const SLOW_BASELINE_MAX_SIZE = 256;
const TFJS_TRANSPOSED_MAX_SIZE = 512;
const LAYOUTS = [
  { name: 'A·B', transA: false, transB: false },
  { name: 'Aᵀ·B', transA: true, transB: false },
  { name: 'A·Bᵀ', transA: false, transB: true },
];
/** ANCHORS.md's GFLOP/s for A·B (and tfjs-wasm's A·Bᵀ), by n. */
const ANCHORS = {
  'pure JS': { 64: 0.55, 128: 0.57, 256: 0.55, 512: 0.62, 1024: 0.55 },
  'tfjs cpu': { 64: 0.52, 128: 0.5, 256: 0.5, 512: 0.52, 1024: 0.47 },
  'tfjs wasm': { 64: 13.9, 128: 16.9, 256: 18.3, 512: 19.9, 1024: 21.7 },
  'tfjs wasm A·Bᵀ': { 64: 1.28, 128: 1.39, 256: 1.24, 512: 1.39, 1024: 1.6 },
};

/**
 * Stages `values` as rows×cols matrices in gradlab's memory and returns them with a disposer.
 * @param {any} kernels the package's `kernels` namespace
 * @param {{ rows: number, cols: number, data?: Float32Array }[]} matrices
 */
function stage(kernels, matrices) {
  const staged = matrices.map(({ rows, cols, data }) => {
    const matrix = new kernels.StagedMatrix(rows, cols);
    if (data) matrix.write(data);
    return matrix;
  });
  return { staged, dispose: () => staged.forEach((matrix) => matrix.dispose()) };
}

/** The package after `init()`, or a clear error that makes the gradlab row unavailable. */
async function gradlabKernels() {
  const gradlab = await loadGradlab();
  await gradlab.init();
  return gradlab.kernels;
}

/**
 * gradlab's C = op(A)·op(B) for n×n operands (the same random data as the baselines).
 * @param {number} n
 * @param {{ transA: boolean, transB: boolean }} layout
 */
function gradlabMatmul(n, layout, label = GRADLAB) {
  return {
    label,
    prepare: async () => {
      const kernels = await gradlabKernels();
      const { staged, dispose } = stage(kernels, [
        { rows: n, cols: n, data: randomArray(n * n, 1) },
        { rows: n, cols: n, data: randomArray(n * n, 2) },
        { rows: n, cols: n },
      ]);
      const [a, b, c] = staged;
      return { run: () => kernels.sgemmStaged(a, b, c, layout), dispose };
    },
  };
}

/**
 * gradlab's version of an elementwise baseline op on `ELEMENTS` values (softmax over rows of
 * `SOFTMAX_COLUMNS`), on the baselines' inputs.
 * @param {string} op one of ELEMENTWISE_OPS
 */
function gradlabElementwise(op) {
  return {
    label: GRADLAB,
    prepare: async () => {
      const kernels = await gradlabKernels();
      const rows = ELEMENTS / SOFTMAX_COLUMNS;
      const { staged, dispose } = stage(kernels, [
        { rows, cols: SOFTMAX_COLUMNS, data: randomArray(ELEMENTS, 1, 4) },
        { rows, cols: SOFTMAX_COLUMNS, data: randomArray(ELEMENTS, 2, 4) },
        { rows, cols: SOFTMAX_COLUMNS },
      ]);
      const [a, b, out] = staged;
      const runs = {
        add: () => kernels.binaryStaged('add', a, b, out),
        mul: () => kernels.binaryStaged('mul', a, b, out),
        sigmoid: () => kernels.activationStaged('sigmoid', a, out),
        tanh: () => kernels.activationStaged('tanh', a, out),
        relu: () => kernels.activationStaged('relu', a, out),
        elu: () => kernels.activationStaged('elu', a, out, 1),
        softmax: () => kernels.softmaxStaged(a, out),
      };
      return { run: runs[op], dispose };
    },
  };
}

/** @param {number[]} values */
function smallest(values) {
  return values.some((value) => value == null) || values.length === 0 ? null : Math.min(...values);
}

/**
 * Turn settings per kind of group: quick runs take a third of the rounds.
 * @param {import('../harness.mjs').RunOptions} options
 */
function turns(options, { full, quick, turnMs, warmupMs = 150 }) {
  return { rounds: options.quick ? quick : full, turnMs, warmupMs };
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const rows = [];
  // A quick run keeps two sizes of the ladder; the target groups below run in full.
  for (const n of options.quick ? QUICK_SIZES : SIZES) {
    for (const layout of LAYOUTS) {
      const transposes = { transposeA: layout.transA, transposeB: layout.transB };
      const slow = n <= SLOW_BASELINE_MAX_SIZE;
      const plain = layout.name === 'A·B';
      const group = `sgemm n=${n} ${layout.name}`;
      const contenders = [
        gradlabMatmul(n, layout),
        ...(slow ? [{ label: 'pure JS', prepare: () => makePureJsMatmul(n, transposes) }] : []),
        ...(slow ? [{ label: 'tfjs cpu', prepare: () => makeTfjsMatmul('cpu', n, transposes) }] : []),
        ...(plain || n <= TFJS_TRANSPOSED_MAX_SIZE ? [{ label: 'tfjs wasm', prepare: () => makeTfjsMatmul('wasm', n, transposes) }] : []),
        ...(plain ? torchContenders({ kind: 'sgemm', n }) : []),
      ];
      const timings = await alternate(contenders, { ...turns(options, { full: 5, quick: 2, turnMs: 30 }), group });
      const anchors =
        layout.name === 'A·B'
          ? { 'pure JS': ANCHORS['pure JS'][n], 'tfjs cpu': ANCHORS['tfjs cpu'][n], 'tfjs wasm': ANCHORS['tfjs wasm'][n] }
          : layout.name === 'A·Bᵀ'
            ? { 'tfjs wasm': ANCHORS['tfjs wasm A·Bᵀ'][n] }
            : {};
      rows.push(...rowsOf(group, timings, { unit: 'GFLOP/s', work: sgemmFlops(n, n, n) / 1e9, anchors }));
    }
  }

  // The A·B targets: gradlab against tfjs-wasm in alternating turns of about 50 ms, so that a
  // slow phase of the machine (seconds long) cannot fall on one of them only.
  const headToHead = (n) => `sgemm n=${n} A·B: gradlab and tfjs wasm in alternating turns`;
  const abGflops = [];
  for (const n of TARGET_SIZES) {
    const contenders = [gradlabMatmul(n, LAYOUTS[0]), { label: 'tfjs wasm', prepare: () => makeTfjsMatmul('wasm', n) }];
    const group = headToHead(n);
    const groupRows = rowsOf(group, await alternate(contenders, { ...turns(options, { full: 15, quick: 4, turnMs: 50 }), group }), { unit: 'GFLOP/s', work: sgemmFlops(n, n, n) / 1e9 });
    rows.push(...groupRows);
    abGflops.push(groupRows.find((row) => row.contender === GRADLAB)?.value ?? null);
  }

  // gradlab's own layouts against each other, interleaved in one comparison, so the
  // transposed/plain ratio is not at the mercy of load that changes between groups.
  const transposedFractions = [];
  for (const n of TARGET_SIZES) {
    const [plain, ...transposed] = LAYOUTS;
    const contenders = [gradlabMatmul(n, plain), ...transposed.map((layout) => gradlabMatmul(n, layout, `gradlab ${layout.name}`))];
    const group = `sgemm n=${n}: gradlab's layouts`;
    const timings = await alternate(contenders, { ...turns(options, { full: 9, quick: 2, turnMs: 40 }), group });
    const groupRows = rowsOf(group, timings, { unit: 'GFLOP/s', work: sgemmFlops(n, n, n) / 1e9 });
    rows.push(...groupRows);
    const plainValue = groupRows.find((row) => row.contender === GRADLAB)?.value;
    for (const layout of transposed) {
      const value = groupRows.find((row) => row.contender === `gradlab ${layout.name}`)?.value;
      transposedFractions.push(value != null && plainValue ? value / plainValue : null);
    }
  }

  const elementwiseOps = ['add', 'mul', 'sigmoid', 'tanh', 'relu', 'elu', 'softmax'];
  for (const op of elementwiseOps) {
    const group = `${op} ${op === 'softmax' ? `rows [${ELEMENTS / SOFTMAX_COLUMNS}×${SOFTMAX_COLUMNS}]` : '1M elements'}`;
    const timings = await alternate(
      [
        gradlabElementwise(op),
        { label: 'pure JS', prepare: () => makePureJsElementwise(op) },
        { label: 'tfjs cpu', prepare: () => makeTfjsElementwise('cpu', op) },
        { label: 'tfjs wasm', prepare: () => makeTfjsElementwise('wasm', op) },
      ],
      { ...turns(options, { full: 15, quick: 2, turnMs: 40, warmupMs: 200 }), group },
    );
    rows.push(...rowsOf(group, timings, { unit: 'ms' }));
  }

  const elementwiseGroups = [...new Set(rows.map((row) => row.group))].filter((group) => !group.startsWith('sgemm'));
  const tfjs = await wasmInfo();
  const torch = await torchInfo();
  return {
    suite: 'kernels',
    rows,
    targets: [
      { id: 'sgemm-ab-gflops', measured: smallest(abGflops), detail: 'slowest of n = 256, 512, 1024' },
      {
        id: 'sgemm-ab-vs-tfjs-wasm',
        measured: smallest(TARGET_SIZES.map((n) => speedupOver(rows, headToHead(n), 'tfjs wasm'))),
        detail: 'smallest ratio of n = 256, 512, 1024, in alternating turns',
      },
      {
        id: 'sgemm-ab-peak-fraction',
        measured: smallest(abGflops) == null ? null : smallest(abGflops) / SIMD128_PEAK_GFLOPS,
        detail: `of ${SIMD128_PEAK_GFLOPS} GFLOP/s`,
      },
      { id: 'sgemm-transposed-vs-own-ab', measured: smallest(transposedFractions), detail: 'worst of Aᵀ·B and A·Bᵀ at n = 256, 512, 1024, timed interleaved with A·B' },
      {
        id: 'elementwise-vs-tfjs-wasm',
        measured: smallest(elementwiseGroups.map((group) => speedupOver(rows, group, 'tfjs wasm'))),
        detail: `worst of ${elementwiseOps.join(', ')}, in alternating turns`,
      },
      {
        id: 'elementwise-vs-pure-js',
        measured: smallest(elementwiseGroups.map((group) => speedupOver(rows, group, 'pure JS'))),
        detail: `worst of ${elementwiseOps.join(', ')}`,
      },
    ],
    notes: [
      `pure JS and tfjs cpu run up to n = ${SLOW_BASELINE_MAX_SIZE}, tfjs wasm's transposed layouts up to n = ${TFJS_TRANSPOSED_MAX_SIZE}`,
      torch.available ? `PyTorch ${torch.torch} (${torch.openblas ?? 'its BLAS'}), 1 thread and ${torch.cores}` : `PyTorch unavailable: ${torch.reason}`,
      `tfjs wasm: simd ${tfjs.simd}, ${tfjs.threads} thread(s); ${tfjs.note}`,
      `SIMD128 peak for the fraction: ${SIMD128_PEAK_GFLOPS} GFLOP/s (ANCHORS.md)`,
    ],
  };
}

await runIfMain(import.meta.url, run);

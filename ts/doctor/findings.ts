/**
 * From measurements to findings: each problem the thresholds (./thresholds.ts) detect, with
 * the layer, the numbers, the threshold and a sentence a student understands; and the verdict,
 * the worst problem found.
 *
 * Gradient flow (vanishing, exploding, through time) is judged at initialisation, where the
 * article and Nielsen measure it and before training can hide it; saturation and dead units at
 * the end of the run, where training has pushed units there (unless the run overflowed); non-finite
 * steps over the run.
 *
 * @packageDocumentation
 */
import type { LayerDiagnostics } from '../model/types.js';
import type { Finding, Verdict } from './report.js';
import type { RunRecord } from './run.js';
import { DEAD_FRACTION, EXPLODING_GRAD_NORM, EXPLODING_RATIO, SATURATED_FRACTION, TIME_RATIO, VANISHING_RATIO } from './thresholds.js';

/** Worst first: the verdict is the first of these that a finding has. */
const SEVERITY: Exclude<Verdict, 'healthy'>[] = ['exploding', 'vanishing', 'vanishingThroughTime', 'nonFinite', 'saturated', 'dead'];

const WEIGHT_KINDS = new Set(['dense', 'rnn', 'lstm']);

/** The layers with weight matrices, in forward order, and the hidden ones (all but the output layer). */
export function weightLayers(diagnostics: LayerDiagnostics[]): { all: LayerDiagnostics[]; hidden: LayerDiagnostics[] } {
  const all = diagnostics.filter((layer) => WEIGHT_KINDS.has(layer.kind));
  return { all, hidden: all.slice(0, -1) };
}

/** Largest over smallest ‖∂C/∂W‖ of the weight layers: 1 is perfectly balanced; Infinity when one is 0 or the numbers are not finite. */
export function gradientRatio(diagnostics: LayerDiagnostics[]): number {
  const norms = weightLayers(diagnostics).all.map((layer) => layer.weightGradNorm);
  if (norms.length < 2) return 1;
  if (!norms.every(Number.isFinite)) return Infinity;
  const min = Math.min(...norms);
  return min > 0 ? Math.max(...norms) / min : Infinity;
}

/** ‖∂L/∂h_T‖ over ‖∂L/∂h_1‖, the largest over the recurrent layers; `null` without one. */
export function timeRatio(diagnostics: LayerDiagnostics[]): number | null {
  const ratios = diagnostics.flatMap((layer) => {
    const norms = layer.timeGradNorms;
    if (!norms || norms.length < 2) return [];
    return [norms[0] > 0 ? norms[norms.length - 1] / norms[0] : Infinity];
  });
  return ratios.length > 0 ? Math.max(...ratios) : null;
}

/** A number as a sentence shows it: 3 significant digits, exponents for very large or small ones. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(1);
  return Number(value.toPrecision(3)).toString();
}

const ORDINALS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
function counted(count: number, noun: string): string {
  return `${ORDINALS[count] ?? count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Why a gradient shrinks through a chain of these nonlinearities, in the article's words. */
function throughNonlinearities(activations: (string | null)[]): string {
  const kinds = new Set(activations);
  if (activations.length === 0) return 'the product of the layers between them shrinks it';
  if (kinds.size === 1 && kinds.has('sigmoid')) return `its gradient passes through ${counted(activations.length, 'sigmoid')}, each passing back at most 0.25`;
  if (kinds.size === 1 && kinds.has('tanh')) return `its gradient passes through ${counted(activations.length, 'tanh')}, each passing back at most 1 and less wherever a unit is far from 0`;
  return `its gradient passes through ${counted(activations.length, 'layer')} whose derivatives and weights multiply it by less than 1 each`;
}

function vanishing(start: LayerDiagnostics[], activationOf: (name: string) => string | null): Finding[] {
  const { hidden } = weightLayers(start);
  const dense = hidden.filter((layer) => layer.kind === 'dense');
  if (dense.length < 2) return [];
  const first = dense[0];
  const last = dense[dense.length - 1];
  const ratio = last.weightGradNorm / first.weightGradNorm;
  if (!(ratio >= VANISHING_RATIO)) return [];
  const speeds: Record<string, number> = first.learningSpeed !== null && last.learningSpeed !== null ? { firstLearningSpeed: first.learningSpeed, lastLearningSpeed: last.learningSpeed } : {};
  const between = dense.slice(0, -1).map((layer) => activationOf(layer.name));
  return [
    {
      kind: 'vanishing',
      layer: first.name,
      measured: { ratio, first: first.weightGradNorm, last: last.weightGradNorm, ...speeds },
      threshold: { ratio: VANISHING_RATIO },
      message:
        `hidden layer 1 ('${first.name}') learns ${formatNumber(ratio)}× slower than hidden layer ${dense.length} ('${last.name}') at initialisation ` +
        `(‖∂C/∂W‖ ${formatNumber(first.weightGradNorm)} against ${formatNumber(last.weightGradNorm)}): ${throughNonlinearities(between)}.`,
    },
  ];
}

function exploding(start: LayerDiagnostics[], gradNorm: number): Finding[] {
  const { hidden } = weightLayers(start);
  const withBias = hidden.filter((layer) => layer.learningSpeed !== null && layer.kind === 'dense');
  const first = withBias[0];
  const last = withBias[withBias.length - 1];
  const ratio = withBias.length >= 2 ? (first.learningSpeed as number) / (last.learningSpeed as number) : 1;
  const grows = ratio >= EXPLODING_RATIO;
  if (!grows && !(gradNorm >= EXPLODING_GRAD_NORM)) return [];
  if (grows) {
    const perLayer = ratio ** (1 / (withBias.length - 1));
    return [
      {
        kind: 'exploding',
        layer: first.name,
        measured: { ratio, perLayer, first: first.learningSpeed as number, last: last.learningSpeed as number, gradNorm },
        threshold: { ratio: EXPLODING_RATIO },
        message:
          `the gradient signal ‖∂C/∂b‖ grows ${formatNumber(ratio)}× from the last hidden layer ('${last.name}') back to the first ('${first.name}'), ` +
          `about ${formatNumber(perLayer)}× per layer: each layer's weights multiply it by more than 1, so the first layers take huge steps.`,
      },
    ];
  }
  return [
    {
      kind: 'exploding',
      layer: null,
      measured: { gradNorm },
      threshold: { gradNorm: EXPLODING_GRAD_NORM },
      message: `the gradient's global norm is ${formatNumber(gradNorm)} at initialisation (over ${formatNumber(EXPLODING_GRAD_NORM)}): one step of SGD moves the weights far past any minimum.`,
    },
  ];
}

function throughTime(start: LayerDiagnostics[]): Finding[] {
  return start.flatMap((layer): Finding[] => {
    const norms = layer.timeGradNorms;
    const ratio = timeRatio([layer]);
    if (!norms || ratio === null) return [];
    const firstStep = norms[0];
    const lastStep = norms[norms.length - 1];
    if (!(ratio >= TIME_RATIO)) return [];
    return [
      {
        kind: 'vanishingThroughTime',
        layer: layer.name,
        measured: { ratio, firstStep, lastStep, steps: norms.length },
        threshold: { ratio: TIME_RATIO },
        message:
          `in ${layer.kind} layer '${layer.name}', ‖∂L/∂h_t‖ falls ${formatNumber(ratio)}× from the last time step back to the first (T = ${norms.length}): ` +
          `every step back multiplies it by the recurrent weights and the derivative of tanh, so what the first inputs said barely reaches the weights.`,
      },
    ];
  });
}

function unitFindings(run: RunRecord): Finding[] {
  return run.end.measurements.flatMap((m): Finding[] => {
    const findings: Finding[] = [];
    if (m.saturatedFraction !== null && m.saturatedFraction >= SATURATED_FRACTION) {
      findings.push({
        kind: 'saturated',
        layer: m.name,
        measured: { saturatedFraction: m.saturatedFraction },
        threshold: { saturatedFraction: SATURATED_FRACTION },
        message: `${formatNumber(100 * m.saturatedFraction)}% of layer '${m.name}'s ${m.activation} outputs are within 0.01 of their bounds, where the derivative is almost 0: those units barely learn.`,
      });
    }
    if (m.deadFraction !== null && m.deadFraction >= DEAD_FRACTION) {
      findings.push({
        kind: 'dead',
        layer: m.name,
        measured: { deadFraction: m.deadFraction },
        threshold: { deadFraction: DEAD_FRACTION },
        message: `${formatNumber(100 * m.deadFraction)}% of layer '${m.name}'s ReLU units output 0 for every example of the batch: they pass no gradient back, so they cannot recover.`,
      });
    }
    return findings;
  });
}

function nonFinite(run: RunRecord): Finding[] {
  const lossBroke = !Number.isFinite(run.validation.loss);
  if (run.skippedSteps === 0 && !lossBroke) return [];
  const at = run.nonFiniteAt ?? run.validation.nonFiniteAt ?? null;
  return [
    {
      kind: 'nonFinite',
      layer: at === 'loss' ? null : at,
      measured: { skippedSteps: run.skippedSteps, steps: run.steps, validationLoss: run.validation.loss },
      threshold: { skippedSteps: 0 },
      message:
        run.skippedSteps > 0
          ? `${run.skippedSteps} of ${run.steps} training steps went non-finite${at ? ` (first at '${at}')` : ''} and were refused: the numbers overflowed.`
          : `the validation loss is ${run.validation.loss}${at ? ` (the output went non-finite at '${at}')` : ''}: the network overflows.`,
    },
  ];
}

/** Every finding of a run, worst kind first. */
export function findingsOf(run: RunRecord): Finding[] {
  const activations = new Map(run.start.measurements.map((m) => [m.name, m.activation]));
  const all = [
    ...exploding(run.start.diagnostics, run.start.gradNorm),
    ...vanishing(run.start.diagnostics, (name) => activations.get(name) ?? null),
    ...throughTime(run.start.diagnostics),
    ...nonFinite(run),
  ];
  // After an overflow the end's weights are no longer the network's: its units say nothing.
  if (!all.some((finding) => finding.kind === 'nonFinite')) all.push(...unitFindings(run));
  return all.sort((a, b) => SEVERITY.indexOf(a.kind) - SEVERITY.indexOf(b.kind));
}

/** The worst problem among `findings`, or `healthy`. */
export function verdictOf(findings: Finding[]): Verdict {
  return findings[0]?.kind ?? 'healthy';
}

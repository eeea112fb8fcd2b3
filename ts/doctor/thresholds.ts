/**
 * Every threshold the doctor judges a network by, in one place. Calibrated on the lab's
 * reference networks (ts/lab/nets.ts, ts/lab/experiments) with gradlab and, for the same
 * set-ups, PyTorch 1.13 (`test/fixtures/doctor_reference.py`, which prints the per-layer
 * gradient norms of the same nets). The numbers each comment quotes are those runs'
 * (1,000 MNIST digits, seed 1, at initialisation unless stated).
 *
 * @packageDocumentation
 */

/**
 * Vanishing: the last hidden layer's ‖∂C/∂W‖ over the first hidden layer's. Deep sigmoid
 * nets reach 20–120× ([784,30,30,30,30,10]: gradlab 67×, PyTorch 60×; Nielsen's own
 * learning speeds give ~95×); ReLU + He is about 0.5×, BatchNorm 0.2×, residual 1.1×. A
 * 2-hidden-layer sigmoid net sits at 3–5×, slow but trainable; 10× separates the two groups.
 */
export const VANISHING_RATIO = 10;

/**
 * Exploding: Nielsen's learning speed ‖∂C/∂b‖ (the backward signal δ itself) of the first
 * hidden layer over the last's. N(0, 1) weights in the lab's 9-layer ReLU net grow δ about
 * 4× per layer (10⁴ and more end to end, in PyTorch too); ReLU + He stays within 0.5–3×. The
 * weight gradient does not show it: ∂C/∂W = δ·aᵀ and the activations a grow toward the
 * output as fast as δ grows toward the input, so ‖∂C/∂W‖ stays flat.
 */
export const EXPLODING_RATIO = 10;

/** Exploding, whatever the ratio: a global gradient norm this large at initialisation (N(0,1) net: 10⁵ and more; the others below 10). */
export const EXPLODING_GRAD_NORM = 1e3;

/**
 * Saturated: the share of a layer's sigmoid or tanh outputs within 0.01 of a bound, where the
 * derivative is under 0.01. Nielsen's N(0, 1/n) sigmoid nets stay under 5 %; N(0, 1) sigmoid
 * weights on MNIST pixels saturate 60–90 % of the first layer.
 */
export const SATURATED_FRACTION = 0.5;

/** Dead: the share of a ReLU layer's units that output 0 for the whole probe batch (He init: under 10 %). */
export const DEAD_FRACTION = 0.5;

/**
 * Vanishing through time: ‖∂L/∂h_T‖ over ‖∂L/∂h_1‖ for a recurrent layer. A tanh RNN on the
 * adding problem at T = 50 loses 10⁴–10¹⁰ of it end to end; at T = 10 about 10–50.
 */
export const TIME_RATIO = 100;

/**
 * How much a trial's improvement counts a better gradient balance next to a better
 * validation metric: `improvement = metricGain + GRADIENT_WEIGHT · log10(before.gradientRatio
 * / after.gradientRatio)` with the log clamped to ±{@link GRADIENT_GAIN_CAP} (for recurrent nets plus
 * the same term of the time ratio ‖∂L/∂h_T‖/‖∂L/∂h_1‖). The metric gain
 * is the accuracy gained (classification) or the validation loss's relative reduction
 * (regression), so a trial that balances the gradients 100× without learning better gains 0.1.
 */
export const GRADIENT_WEIGHT = 0.05;
export const GRADIENT_GAIN_CAP = 2;

/** A trial must improve by more than this to be recommended (below it the original is as good). */
export const MIN_IMPROVEMENT = 0.01;

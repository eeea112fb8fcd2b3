/**
 * Every threshold the doctor judges a network by, in one place. Calibrated on the lab's
 * reference networks (ts/lab/nets.ts, ts/lab/experiments) with gradlab's `diagnose` (seed 1,
 * 1,000 MNIST digits, the 256-row probe at initialisation) and with PyTorch 1.13 for the same
 * set-ups (`test/fixtures/doctor_reference.py`: the whole 1,000-image batch, mean of 5 seeds).
 *
 * @packageDocumentation
 */

/**
 * Vanishing: the last hidden layer's ‖∂C/∂W‖ over the first hidden layer's. Sigmoid
 * [784,30,30,30,30,10] (Nielsen's init): gradlab 54×, PyTorch 67×; sigmoid [784,30,30,10]:
 * PyTorch 2.4×, gradlab healthy; ReLU + He: PyTorch 0.40×; the N(0, 1) ReLU net: 1.8×
 * (DESIGN.md: BatchNorm 0.19×, residual 1.1×). 10× separates the deep sigmoid net from all
 * the trainable ones.
 */
export const VANISHING_RATIO = 10;

/**
 * Exploding: Nielsen's learning speed ‖∂C/∂b‖ (the backward signal δ itself) of the first
 * hidden layer over the last's. N(0, 1) weights in the lab's 9-layer ReLU net grow δ about
 * 4× per layer: gradlab 1.7·10⁴ (4.0× per layer), PyTorch 8.9·10³; ReLU + He: PyTorch 0.53×,
 * deep sigmoid 0.008×. The weight gradient does not show it (PyTorch: 1.5·10⁵ to 2.8·10⁵,
 * flat): ∂C/∂W = δ·aᵀ and the activations a grow toward the output as fast as δ grows
 * toward the input.
 */
export const EXPLODING_RATIO = 10;

/** Exploding, whatever the ratio: a global gradient norm this large at initialisation (N(0,1) net: gradlab 1.3·10⁶; the other reference nets below 10). */
export const EXPLODING_GRAD_NORM = 1e3;

/**
 * Saturated: the share of a layer's sigmoid or tanh outputs within 0.01 of a bound, where the
 * derivative is under 0.01. Nielsen's N(0, 1/n) sigmoid nets and the adding problem's RNN:
 * 0 % after 300 steps; a layer whose units mostly sit there has stopped learning in them.
 */
export const SATURATED_FRACTION = 0.5;

/** Dead: the share of a ReLU layer's units that output 0 for the whole probe batch (ReLU + He after 300 steps: 3–33 %). */
export const DEAD_FRACTION = 0.5;

/**
 * Vanishing through time: ‖∂L/∂h_T‖ over ‖∂L/∂h_1‖ for a recurrent layer. The lab's tanh RNN
 * (32 units) on the adding problem at T = 50: 4.4·10¹² at initialisation; the LSTM with
 * forget bias 1: 3.4·10⁴ (its gates learn to hold the gradient, which a short budget does
 * not show).
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

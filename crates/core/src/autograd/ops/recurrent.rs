//! `rnn` (tanh) and `lstm` over a batch of sequences, from an optional initial state, as PyTorch's
//! `nn.RNN` / `nn.LSTM` with `batch_first=True` and one layer:
//!
//! ```text
//! x [B, T, I], weight_ih [G, I], weight_hh [G, H], bias_ih [G], bias_hh [G], h₀ [B, H], c₀ [B, H]
//!   → output [B, T, H] (every h_t), h [B, H] (the last h_t), c [B, H] (lstm: the last c_t)
//! ```
//!
//! with G = H (rnn) or 4H (lstm, gates i, f, g, o). The recurrence, forward and backward, is
//! the one the `rnn`/`lstm` layers run ([`crate::recurrence`]); this file puts it on the tape.
//!
//! The tape records one output per node, so the op records one node whose output packs every
//! h_t and, for the LSTM, the last c_t as one more step: `[B, T, H]` (rnn) or `[B, T + 1, H]`
//! (lstm). `output`, `h` and `c` are selections of its steps (a small node each), so the
//! gradients arriving through any of them — `h` is also the last step of `output` — add up
//! on the packed tensor before the recurrence runs backward once. The packed tensor itself
//! is freed at once: callers see only the three results.

use crate::autograd::{Backward, Tape, TensorId};
use crate::error::{shape_str, Error, Result};
use crate::limits::MAX_BATCH_VALUES;
use crate::recurrence::{CellKind, InitialState, InputGradients, Scratch, Trace, Unroll, Upstream, WeightGradients, Weights};
use crate::tensor::Tensor;
use std::rc::Rc;

/// The parameters of a recurrent op, tensors on the tape in PyTorch's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecurrentParams {
    /// [G, I].
    pub weight_ih: TensorId,
    /// [G, H].
    pub weight_hh: TensorId,
    /// [G].
    pub bias_ih: TensorId,
    /// [G].
    pub bias_hh: TensorId,
}

/// The results of a recurrent op, each a tensor on the tape that may be used (and freed) on
/// its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecurrentOutputs {
    /// Every step's hidden state: [B, T, H].
    pub output: TensorId,
    /// The last hidden state h_{T−1}: [B, H].
    pub hidden: TensorId,
    /// The last cell state c_{T−1} (lstm; `None` for rnn): [B, H].
    pub cell: Option<TensorId>,
}

/// Runs `cell` over `x` [B, T, I] from `initial_hidden` h₀ and (lstm) `initial_cell` c₀, each
/// [B, H] or `None` for zeros. B, T, I and H must be at least 1. Errors name the argument
/// (`x`, `weightIh`, `weightHh`, `biasIh`, `biasHh`, `h0`, `c0`) with the expected shape.
pub fn recurrent(
    tape: &mut Tape,
    cell: CellKind,
    x: TensorId,
    params: RecurrentParams,
    initial_hidden: Option<TensorId>,
    initial_cell: Option<TensorId>,
) -> Result<RecurrentOutputs> {
    let op = cell.kind();
    let input = tape.value(op, "x", x)?;
    let weight_ih = tape.value(op, "weightIh", params.weight_ih)?;
    let weight_hh = tape.value(op, "weightHh", params.weight_hh)?;
    let bias_ih = tape.value(op, "biasIh", params.bias_ih)?;
    let bias_hh = tape.value(op, "biasHh", params.bias_hh)?;
    let h0 = initial_hidden.map(|id| tape.value(op, "h0", id)).transpose()?;
    if cell == CellKind::Rnn && initial_cell.is_some() {
        return Err(Error::invalid(op, "c0", "no initial cell state (an rnn has none)", "a tensor"));
    }
    let c0 = initial_cell.map(|id| tape.value(op, "c0", id)).transpose()?;
    let (unroll, batch) = check_shapes(cell, &input, &weight_ih, &weight_hh, &bias_ih, &bias_hh, h0.as_deref(), c0.as_deref())?;
    cell.workspace_per_example(unroll.steps, unroll.units).times(batch).at_most(op, "x", MAX_BATCH_VALUES)?;

    let weights = Weights { weight_ih: weight_ih.data(), weight_hh: weight_hh.data(), bias_ih: bias_ih.data(), bias_hh: bias_hh.data() };
    let initial = InitialState { hidden: h0.as_ref().map(|h| h.data()), cell: c0.as_ref().map(|c| c.data()) };
    let mut trace = Trace::default();
    unroll.forward(&weights, input.data(), batch, initial, &mut trace, &mut Scratch::new(op, unroll)?);
    let packed = pack(op, unroll, batch, &trace)?;
    let packed_steps = packed.shape()[1];

    let mut inputs = vec![x, params.weight_ih, params.weight_hh, params.bias_ih, params.bias_hh];
    inputs.extend(initial_hidden);
    inputs.extend(initial_cell);
    let saved = RecurrentBackward { unroll, batch, input, weight_ih, weight_hh, bias_ih, bias_hh, h0, c0, trace };
    let packed_id = tape.record(&inputs, Rc::new(packed), saved)?;

    let (steps, units) = (unroll.steps, unroll.units);
    let mut selections = vec![(0, vec![batch, steps, units]), (steps - 1, vec![batch, units])];
    if cell == CellKind::Lstm {
        selections.push((steps, vec![batch, units]));
    }
    let mut made = Vec::with_capacity(selections.len());
    for (first, shape) in selections {
        match select_steps(tape, op, packed_id, packed_steps, first, shape) {
            Ok(id) => made.push(id),
            Err(error) => {
                // Leave nothing behind: the caller gets no handle to free.
                for id in made.into_iter().chain(Some(packed_id)) {
                    tape.free(op, "output", id)?;
                }
                return Err(error);
            }
        }
    }
    tape.free(op, "output", packed_id)?;
    Ok(RecurrentOutputs { output: made[0], hidden: made[1], cell: made.get(2).cloned() })
}

/// Checks every shape against x [B, T, I] and weight_hh [G, H]; returns the sizes and B.
#[allow(clippy::too_many_arguments)]
fn check_shapes(
    cell: CellKind,
    input: &Tensor,
    weight_ih: &Tensor,
    weight_hh: &Tensor,
    bias_ih: &Tensor,
    bias_hh: &Tensor,
    h0: Option<&Tensor>,
    c0: Option<&Tensor>,
) -> Result<(Unroll, usize)> {
    let op = cell.kind();
    let gates_per_unit = cell.gates_per_unit();
    let (batch, steps, input_features) = match *input.shape() {
        [batch, steps, features] if batch > 0 && steps > 0 && features > 0 => (batch, steps, features),
        _ => return Err(Error::shape(op, "x", "[batch, time, features], each at least 1", shape_str(input.shape()))),
    };
    let units = match *weight_hh.shape() {
        [rows, units] if units > 0 && rows == gates_per_unit * units => units,
        _ => {
            let expected = if gates_per_unit == 1 { "[H, H] with H ≥ 1".to_string() } else { format!("[{0}·H, H] with H ≥ 1 ({0} gates i, f, g, o)", gates_per_unit) };
            return Err(Error::shape(op, "weightHh", expected, shape_str(weight_hh.shape())));
        }
    };
    let gates = gates_per_unit * units;
    let expect = |arg: &str, tensor: &Tensor, shape: &[usize], why: &str| {
        if tensor.shape() == shape {
            Ok(())
        } else {
            Err(Error::shape(op, arg, format!("{} ({})", shape_str(shape), why), shape_str(tensor.shape())))
        }
    };
    let gates_why = format!("{} rows, as weightHh {}", gates, shape_str(weight_hh.shape()));
    expect("weightIh", weight_ih, &[gates, input_features], &format!("{} × the {} features of x", gates_why, input_features))?;
    expect("biasIh", bias_ih, &[gates], &gates_why)?;
    expect("biasHh", bias_hh, &[gates], &gates_why)?;
    let state_why = format!("batch {} of x × hidden size {}", batch, units);
    if let Some(h0) = h0 {
        expect("h0", h0, &[batch, units], &state_why)?;
    }
    if let Some(c0) = c0 {
        expect("c0", c0, &[batch, units], &state_why)?;
    }
    Ok((Unroll { cell, steps, input_features, units }, batch))
}

/// Every h_t, and for the LSTM the last c_t as one more step: [B, T (+ 1), H].
fn pack(op: &str, unroll: Unroll, batch: usize, trace: &Trace) -> Result<Tensor> {
    let (steps, units) = (unroll.steps, unroll.units);
    let extra = if unroll.cell == CellKind::Lstm { 1 } else { 0 };
    let mut packed = Tensor::zeros(op, vec![batch, steps + extra, units])?;
    let sequence = steps * units;
    for (b, example) in packed.data_mut().chunks_exact_mut(sequence + extra * units).enumerate() {
        let (states, last_cell) = example.split_at_mut(sequence);
        states.copy_from_slice(&trace.hidden()[b * sequence..(b + 1) * sequence]);
        if extra == 1 {
            let last = (b + 1) * sequence;
            last_cell.copy_from_slice(&trace.cells()[last - units..last]);
        }
    }
    Ok(packed)
}

/// What the recurrence's backward needs: its inputs and the forward pass's trace.
struct RecurrentBackward {
    unroll: Unroll,
    batch: usize,
    input: Rc<Tensor>,
    weight_ih: Rc<Tensor>,
    weight_hh: Rc<Tensor>,
    bias_ih: Rc<Tensor>,
    bias_hh: Rc<Tensor>,
    h0: Option<Rc<Tensor>>,
    c0: Option<Rc<Tensor>>,
    trace: Trace,
}

/// A zero tensor shaped like `like` when `needed`, to receive a gradient.
fn gradient_for(needed: bool, like: &Tensor, op: &str) -> Result<Option<Tensor>> {
    if needed {
        like.zeros_like(op).map(Some)
    } else {
        Ok(None)
    }
}

impl Backward for RecurrentBackward {
    /// `grad` is ∂L/∂packed [B, T (+ 1), H]: its first T steps reach the hidden states, the
    /// extra step (lstm) the last cell state. Inputs in order: x, weight_ih, weight_hh,
    /// bias_ih, bias_hh, then h₀ and c₀ where given.
    fn backward(&self, grad: &Tensor, needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let unroll = self.unroll;
        let op = unroll.cell.kind();
        let (batch, steps, units) = (self.batch, unroll.steps, unroll.units);
        let split;
        let upstream = if unroll.cell == CellKind::Lstm {
            split = split_cell_step(grad.data(), steps, units);
            Upstream { sequence: Some(&split.0), last_cell: Some(&split.1), ..Upstream::default() }
        } else {
            Upstream { sequence: Some(grad.data()), ..Upstream::default() }
        };

        let needed_h0 = self.h0.is_some() && needed[5];
        let needed_c0 = self.c0.is_some() && needed[needed.len() - 1];
        let mut grad_x = gradient_for(needed[0], &self.input, op)?;
        let mut grad_weight_ih = gradient_for(needed[1], &self.weight_ih, op)?;
        let mut grad_weight_hh = gradient_for(needed[2], &self.weight_hh, op)?;
        let mut grad_bias_ih = gradient_for(needed[3], &self.bias_ih, op)?;
        let mut grad_bias_hh = gradient_for(needed[4], &self.bias_hh, op)?;
        let mut grad_h0 = self.h0.as_ref().map_or(Ok(None), |h0| gradient_for(needed_h0, h0, op))?;
        let mut grad_c0 = self.c0.as_ref().map_or(Ok(None), |c0| gradient_for(needed_c0, c0, op))?;

        let weights = Weights { weight_ih: self.weight_ih.data(), weight_hh: self.weight_hh.data(), bias_ih: self.bias_ih.data(), bias_hh: self.bias_hh.data() };
        let initial = InitialState { hidden: self.h0.as_ref().map(|h| h.data()), cell: self.c0.as_ref().map(|c| c.data()) };
        let params = WeightGradients {
            weight_ih: grad_weight_ih.as_mut().map(Tensor::data_mut),
            weight_hh: grad_weight_hh.as_mut().map(Tensor::data_mut),
            bias_ih: grad_bias_ih.as_mut().map(Tensor::data_mut),
            bias_hh: grad_bias_hh.as_mut().map(Tensor::data_mut),
        };
        let outputs = InputGradients {
            input: grad_x.as_mut().map(Tensor::data_mut),
            initial_hidden: grad_h0.as_mut().map(Tensor::data_mut),
            initial_cell: grad_c0.as_mut().map(Tensor::data_mut),
            time_norms: None,
        };
        let mut scratch = Scratch::new(op, unroll)?;
        unroll.backward(&weights, self.input.data(), batch, initial, &self.trace, upstream, 0, &mut scratch, params, outputs);

        let mut grads = vec![grad_x, grad_weight_ih, grad_weight_hh, grad_bias_ih, grad_bias_hh];
        if self.h0.is_some() {
            grads.push(grad_h0);
        }
        if self.c0.is_some() {
            grads.push(grad_c0);
        }
        Ok(grads)
    }
}

/// Splits the lstm's packed [B, T + 1, H] into the hidden states' [B, T, H] and the last cell
/// state's [B, H].
fn split_cell_step(packed: &[f32], steps: usize, units: usize) -> (Vec<f32>, Vec<f32>) {
    let mut hidden = Vec::with_capacity(packed.len() - packed.len() / (steps + 1));
    let mut cell = Vec::with_capacity(packed.len() / (steps + 1));
    for example in packed.chunks_exact((steps + 1) * units) {
        let (states, last_cell) = example.split_at(steps * units);
        hidden.extend_from_slice(states);
        cell.extend_from_slice(last_cell);
    }
    (hidden, cell)
}

/// Steps `first..` of `packed` [B, S, H], as many as `shape` holds ([B, n, H], or [B, H] for
/// one step).
fn select_steps(tape: &mut Tape, op: &'static str, packed: TensorId, packed_steps: usize, first: usize, shape: Vec<usize>) -> Result<TensorId> {
    let source = tape.value(op, "output", packed)?;
    let batch = shape[0];
    let units = shape[shape.len() - 1];
    let mut selected = Tensor::zeros(op, shape)?;
    let count = selected.len() / (batch * units);
    let (from, to) = (packed_steps * units, count * units);
    for (out, rows) in selected.data_mut().chunks_exact_mut(to).zip(source.data().chunks_exact(from)) {
        out.copy_from_slice(&rows[first * units..first * units + to]);
    }
    let saved = SelectBackward { source_shape: source.shape().to_vec(), first, count, name: op };
    tape.record(&[packed], Rc::new(selected), saved)
}

struct SelectBackward {
    source_shape: Vec<usize>,
    first: usize,
    count: usize,
    name: &'static str,
}

impl Backward for SelectBackward {
    /// Scatters the gradient of the selected steps back into a zero [B, S, H].
    fn backward(&self, grad: &Tensor, _needed: &[bool]) -> Result<Vec<Option<Tensor>>> {
        let mut source = Tensor::zeros(self.name, self.source_shape.clone())?;
        let (packed_steps, units) = (self.source_shape[1], self.source_shape[2]);
        let (from, to) = (self.count * units, packed_steps * units);
        for (rows, selected) in source.data_mut().chunks_exact_mut(to).zip(grad.data().chunks_exact(from)) {
            rows[self.first * units..self.first * units + from].copy_from_slice(selected);
        }
        Ok(vec![Some(source)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::gradcheck::{check_gradients, leaf, random_tensor, Domain};
    use crate::autograd::ops::elementwise::{binary, BinaryKind};
    use crate::autograd::ops::reduce::{reduce, ReduceKind};
    use crate::rng::Rng;

    const CELLS: [CellKind; 2] = [CellKind::Rnn, CellKind::Lstm];

    /// Shapes of x, weight_ih, weight_hh, bias_ih, bias_hh, h₀ and c₀.
    fn shapes(cell: CellKind, batch: usize, steps: usize, features: usize, units: usize) -> Vec<Vec<usize>> {
        let gates = cell.gates_per_unit() * units;
        vec![vec![batch, steps, features], vec![gates, features], vec![gates, units], vec![gates], vec![gates], vec![batch, units], vec![batch, units]]
    }

    fn params(ids: &[TensorId]) -> RecurrentParams {
        RecurrentParams { weight_ih: ids[1], weight_hh: ids[2], bias_ih: ids[3], bias_hh: ids[4] }
    }

    /// Which result the checked loss reads.
    #[derive(Clone, Copy, Debug)]
    enum Read {
        Output,
        Hidden,
        Cell,
        /// Σ_t output + h (+ c): every path at once, h twice.
        All,
    }

    fn read(tape: &mut Tape, outputs: RecurrentOutputs, what: Read) -> Result<TensorId> {
        match what {
            Read::Output => Ok(outputs.output),
            Read::Hidden => Ok(outputs.hidden),
            Read::Cell => Ok(outputs.cell.expect("an lstm")),
            Read::All => {
                let over_time = reduce(tape, ReduceKind::Sum, outputs.output, Some(1), false)?;
                let sum = binary(tape, BinaryKind::Add, over_time, outputs.hidden)?;
                match outputs.cell {
                    Some(cell) => binary(tape, BinaryKind::Add, sum, cell),
                    None => Ok(sum),
                }
            }
        }
    }

    #[test]
    fn gradients_of_every_input_match_finite_differences() {
        for (seed, &cell) in CELLS.iter().enumerate() {
            for &steps in &[1, 3] {
                for &with_state in &[false, true] {
                    let reads: &[Read] = if cell == CellKind::Lstm { &[Read::Output, Read::Hidden, Read::Cell, Read::All] } else { &[Read::Output, Read::Hidden, Read::All] };
                    for &what in reads {
                        let all = shapes(cell, 2, steps, 3, 2);
                        let count = if !with_state { 5 } else if cell == CellKind::Lstm { 7 } else { 6 };
                        let shape_refs: Vec<&[usize]> = all[..count].iter().map(|s| s.as_slice()).collect();
                        let name = format!("{} T={} state={} {:?}", cell.kind(), steps, with_state, what);
                        check_gradients(&name, seed as u64 + steps as u64, &shape_refs, &vec![Domain::Any; count], |tape, ids| {
                            let outputs = recurrent(tape, cell, ids[0], params(ids), ids.get(5).cloned(), ids.get(6).cloned())?;
                            read(tape, outputs, what)
                        });
                    }
                }
            }
        }
    }

    /// A tape holding random inputs of `shapes` (none requiring a gradient).
    fn random_leaves(tape: &mut Tape, rng: &mut Rng, shapes: &[Vec<usize>]) -> Vec<TensorId> {
        shapes.iter().map(|shape| tape.leaf(random_tensor(rng, shape, Domain::Any), false).unwrap()).collect()
    }

    fn values(tape: &Tape, id: TensorId) -> Vec<f32> {
        tape.value("t", "t", id).unwrap().data().to_vec()
    }

    /// Running T steps at once equals running the first k, then the rest from the state the
    /// first run ended in.
    #[test]
    fn a_split_sequence_continues_from_its_state() {
        for &cell in &CELLS {
            let (batch, steps, features, units, split) = (2, 5, 3, 4, 2);
            let mut tape = Tape::new();
            let ids = random_leaves(&mut tape, &mut Rng::new(9), &shapes(cell, batch, steps, features, units));
            let whole = recurrent(&mut tape, cell, ids[0], params(&ids), Some(ids[5]), cell_state(cell, &ids)).unwrap();
            let x = values(&tape, ids[0]);
            let part = |from: usize, to: usize| -> Vec<f32> { x.chunks_exact(steps * features).flat_map(|e| e[from * features..to * features].to_vec()).collect() };
            let head = leaf(&mut tape, &[batch, split, features], &part(0, split));
            let tail = leaf(&mut tape, &[batch, steps - split, features], &part(split, steps));
            let first = recurrent(&mut tape, cell, head, params(&ids), Some(ids[5]), cell_state(cell, &ids)).unwrap();
            let second = recurrent(&mut tape, cell, tail, params(&ids), Some(first.hidden), first.cell).unwrap();
            let whole_output = values(&tape, whole.output);
            let (head_output, tail_output) = (values(&tape, first.output), values(&tape, second.output));
            for b in 0..batch {
                let joined: Vec<f32> = [&head_output[b * split * units..(b + 1) * split * units], &tail_output[b * (steps - split) * units..(b + 1) * (steps - split) * units]].concat();
                let expected = &whole_output[b * steps * units..(b + 1) * steps * units];
                for (got, want) in joined.iter().zip(expected) {
                    assert!((got - want).abs() <= 1e-6, "{}: {} vs {}", cell.kind(), got, want);
                }
            }
            assert_eq!(values(&tape, second.hidden), values(&tape, whole.hidden));
            if let (Some(second), Some(whole)) = (second.cell, whole.cell) {
                assert_eq!(values(&tape, second), values(&tape, whole));
            }
        }
    }

    fn cell_state(cell: CellKind, ids: &[TensorId]) -> Option<TensorId> {
        if cell == CellKind::Lstm {
            Some(ids[6])
        } else {
            None
        }
    }

    #[test]
    fn freeing_the_results_releases_every_node() {
        let mut tape = Tape::new();
        let ids: Vec<TensorId> =
            shapes(CellKind::Lstm, 2, 3, 2, 2).iter().map(|shape| tape.leaf(random_tensor(&mut Rng::new(3), shape, Domain::Any), true).unwrap()).collect();
        let live = tape.len();
        let outputs = recurrent(&mut tape, CellKind::Lstm, ids[0], params(&ids), Some(ids[5]), Some(ids[6])).unwrap();
        assert_eq!(tape.len(), live + 3, "output, h and c; the packed tensor is freed");
        assert_eq!(tape.node_count(), 4);
        let loss = reduce(&mut tape, ReduceKind::Sum, outputs.hidden, None, false).unwrap();
        tape.backward(loss).unwrap();
        for &id in &ids {
            assert!(tape.grad("t", "t", id).unwrap().is_some());
        }
        for id in [outputs.output, outputs.hidden, outputs.cell.unwrap(), loss] {
            tape.free("t", "t", id).unwrap();
        }
        assert_eq!((tape.len(), tape.node_count()), (live, 0));
    }

    fn arg_of(error: &Error) -> &str {
        match error {
            Error::InvalidArgument { arg, .. } | Error::ShapeMismatch { arg, .. } | Error::InvalidHandle { arg, .. } | Error::TooLarge { arg, .. } => arg,
            other => panic!("no argument in {}", other),
        }
    }

    #[test]
    fn bad_shapes_are_typed_errors_naming_the_argument() {
        let mut tape = Tape::new();
        let good = random_leaves(&mut tape, &mut Rng::new(1), &shapes(CellKind::Lstm, 2, 3, 4, 5));
        let live = tape.len();
        let wrong = leaf(&mut tape, &[2, 7], &[0.0; 14]);
        let rnn_weights = random_leaves(&mut tape, &mut Rng::new(2), &shapes(CellKind::Rnn, 2, 3, 4, 5));
        // (argument, its index, a tensor of the wrong shape for it)
        let cases = [("x", 0, wrong), ("weightIh", 1, wrong), ("weightHh", 2, rnn_weights[2]), ("biasIh", 3, wrong), ("biasHh", 4, rnn_weights[1]), ("h0", 5, wrong), ("c0", 6, rnn_weights[2])];
        for (arg, index, replacement) in cases {
            let mut ids = good.clone();
            ids[index] = replacement;
            let error = recurrent(&mut tape, CellKind::Lstm, ids[0], params(&ids), Some(ids[5]), Some(ids[6])).unwrap_err();
            assert_eq!((error.code(), arg_of(&error)), ("ShapeMismatch", arg), "{}", error);
        }
        let error = recurrent(&mut tape, CellKind::Lstm, good[0], params(&good), Some(999), None).unwrap_err();
        assert_eq!((error.code(), arg_of(&error)), ("InvalidHandle", "h0"));
        let error = recurrent(&mut tape, CellKind::Rnn, good[0], params(&rnn_weights), None, Some(good[5])).unwrap_err();
        assert_eq!((error.code(), arg_of(&error)), ("InvalidArgument", "c0"));
        assert_eq!(tape.len(), live + 1 + 7, "nothing created on error");
        // 2^14 examples of 2^10 steps of an lstm with 16 units: far beyond the batch memory bound.
        let x = tape.leaf(Tensor::zeros("t", vec![1 << 14, 1 << 10, 1]).unwrap(), false).unwrap();
        let big = random_leaves(&mut tape, &mut Rng::new(3), &shapes(CellKind::Lstm, 1, 1, 1, 16));
        let error = recurrent(&mut tape, CellKind::Lstm, x, params(&big), None, None).unwrap_err();
        assert_eq!((error.code(), arg_of(&error)), ("TooLarge", "x"));
    }
}

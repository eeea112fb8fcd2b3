//! The tape: the tensors of the eager API, owned by id, and the nodes that recorded how each
//! computed tensor came from its inputs.
//!
//! A node is recorded only when some input requires a gradient, so every node on the tape
//! reaches a trainable tensor. Ids only grow, and an op's output gets a fresh id after its
//! inputs, so the nodes ordered by output id are already in topological order: `backward`
//! walks them from the loss down, accumulating gradients with `+=`.
//!
//! A node lives while its output's id is alive or a live node reads its output: freeing the
//! tensors of a computation releases its nodes and the tensors they saved. `backward` keeps
//! the nodes, so calling it again accumulates again (like PyTorch's `retain_graph=True`).

use super::Backward;
use crate::error::{shape_str, Error, Result};
use crate::kernels::vector;
use crate::tensor::Tensor;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Names a tensor on a [`Tape`]; 0 is never used, so the ABI can use it for "none".
pub type TensorId = u32;

struct Entry {
    /// Shared with the nodes that saved it, so freeing the id does not free their copy.
    value: Rc<Tensor>,
    requires_grad: bool,
    /// ∂loss/∂value accumulated over `backward` calls; `None` until a gradient arrives.
    grad: Option<Tensor>,
}

struct Node {
    inputs: Vec<TensorId>,
    /// For each input: whether it requires a gradient (else backward does not compute one).
    needs_grad: Vec<bool>,
    backward: Box<dyn Backward>,
    /// The output's live id (1 while not freed) plus each live node that reads the output.
    references: usize,
}

/// The tensors of the eager API and the tape of nodes that produced them.
pub struct Tape {
    tensors: HashMap<TensorId, Entry>,
    /// Keyed by the output's id: key order is creation order, a topological order.
    nodes: BTreeMap<TensorId, Node>,
    next_id: TensorId,
}

impl Default for Tape {
    fn default() -> Self {
        Tape { tensors: HashMap::new(), nodes: BTreeMap::new(), next_id: 1 }
    }
}

impl Tape {
    pub fn new() -> Tape {
        Tape::default()
    }

    /// Adds a leaf tensor; with `requires_grad`, `backward` accumulates its gradient.
    pub fn leaf(&mut self, value: Tensor, requires_grad: bool) -> Result<TensorId> {
        self.insert(Rc::new(value), requires_grad)
    }

    /// Adds `output`, computed by an op from `inputs`, and records `backward` for it when
    /// any input requires a gradient (the output then requires one too).
    pub fn record(&mut self, inputs: &[TensorId], output: Rc<Tensor>, backward: impl Backward + 'static) -> Result<TensorId> {
        let needs_grad: Vec<bool> = inputs.iter().map(|id| self.tensors.get(id).map_or(false, |e| e.requires_grad)).collect();
        let requires_grad = needs_grad.iter().any(|&needed| needed);
        let id = self.insert(output, requires_grad)?;
        if requires_grad {
            for input in inputs {
                if let Some(node) = self.nodes.get_mut(input) {
                    node.references += 1;
                }
            }
            let node = Node { inputs: inputs.to_vec(), needs_grad, backward: Box::new(backward), references: 1 };
            self.nodes.insert(id, node);
        }
        Ok(id)
    }

    fn insert(&mut self, value: Rc<Tensor>, requires_grad: bool) -> Result<TensorId> {
        let id = self.next_id;
        if id == TensorId::MAX {
            return Err(Error::state("tensor", "this instance has used up its 2^32 - 2 tensor ids; load a new one"));
        }
        self.next_id += 1;
        self.tensors.insert(id, Entry { value, requires_grad, grad: None });
        Ok(id)
    }

    fn entry(&self, op: &str, arg: &str, id: TensorId) -> Result<&Entry> {
        self.tensors.get(&id).ok_or_else(|| invalid_handle(op, arg, id))
    }

    fn entry_mut(&mut self, op: &str, arg: &str, id: TensorId) -> Result<&mut Entry> {
        self.tensors.get_mut(&id).ok_or_else(|| invalid_handle(op, arg, id))
    }

    /// The value of tensor `id`; `op` and `arg` name the caller in the error for a dead id.
    pub fn value(&self, op: &str, arg: &str, id: TensorId) -> Result<Rc<Tensor>> {
        Ok(self.entry(op, arg, id)?.value.clone())
    }

    pub fn requires_grad(&self, op: &str, arg: &str, id: TensorId) -> Result<bool> {
        Ok(self.entry(op, arg, id)?.requires_grad)
    }

    /// The accumulated gradient of tensor `id`, if `backward` has reached it.
    pub fn grad(&self, op: &str, arg: &str, id: TensorId) -> Result<Option<&Tensor>> {
        Ok(self.entry(op, arg, id)?.grad.as_ref())
    }

    /// Forgets the accumulated gradient of tensor `id`.
    pub fn zero_grad(&mut self, op: &str, arg: &str, id: TensorId) -> Result<()> {
        self.entry_mut(op, arg, id)?.grad = None;
        Ok(())
    }

    /// Overwrites the values of tensor `id` outside autograd (as an optimiser step does).
    /// Nodes that saved the old values keep their copy, so their gradients stay consistent.
    pub fn assign(&mut self, op: &str, arg: &str, id: TensorId, values: &[f32]) -> Result<()> {
        let entry = self.entry_mut(op, arg, id)?;
        if values.len() != entry.value.len() {
            return Err(Error::shape(
                op,
                arg,
                format!("{} values for shape {}", entry.value.len(), shape_str(entry.value.shape())),
                format!("{} values", values.len()),
            ));
        }
        Rc::make_mut(&mut entry.value).data_mut().copy_from_slice(values);
        Ok(())
    }

    /// Frees tensor `id` and releases the nodes nothing live needs any more.
    pub fn free(&mut self, op: &str, arg: &str, id: TensorId) -> Result<()> {
        self.tensors.remove(&id).ok_or_else(|| invalid_handle(op, arg, id))?;
        let mut released = vec![id];
        while let Some(output) = released.pop() {
            let node = match self.nodes.get_mut(&output) {
                Some(node) => node,
                None => continue,
            };
            node.references -= 1;
            if node.references == 0 {
                if let Some(node) = self.nodes.remove(&output) {
                    released.extend(node.inputs);
                }
            }
        }
        Ok(())
    }

    /// The number of live tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The number of nodes on the tape (for tests that prove nodes are released).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Accumulates ∂loss/∂t into the gradient of every live tensor `t` that requires one.
    /// `loss` must hold one element and require a gradient.
    pub fn backward(&mut self, loss: TensorId) -> Result<()> {
        const OP: &str = "backward";
        let entry = self.entry(OP, "loss", loss)?;
        if entry.value.len() != 1 {
            return Err(Error::shape(OP, "loss", "a tensor with one element", shape_str(entry.value.shape())));
        }
        if !entry.requires_grad {
            return Err(Error::state(OP, "the loss does not depend on any tensor that requires a gradient"));
        }
        // Gradients of values on the way down, keyed by tensor id (live or already freed).
        let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
        grads.insert(loss, Tensor::full(OP, entry.value.shape().to_vec(), 1.0)?);
        for (&output, node) in self.nodes.range(..=loss).rev() {
            let grad = match grads.get(&output) {
                Some(grad) => grad,
                None => continue, // the loss does not depend on this node
            };
            let input_grads = node.backward.backward(grad, &node.needs_grad)?;
            if !self.tensors.contains_key(&output) {
                grads.remove(&output); // nobody can read it any more
            }
            for (&input, input_grad) in node.inputs.iter().zip(input_grads) {
                if let Some(input_grad) = input_grad {
                    accumulate(&mut grads, input, input_grad);
                }
            }
        }
        for (id, grad) in grads {
            if let Some(entry) = self.tensors.get_mut(&id) {
                if entry.requires_grad {
                    match &mut entry.grad {
                        Some(total) => vector::axpy(1.0, grad.data(), total.data_mut()),
                        None => entry.grad = Some(grad),
                    }
                }
            }
        }
        Ok(())
    }
}

fn accumulate(grads: &mut HashMap<TensorId, Tensor>, id: TensorId, grad: Tensor) {
    match grads.get_mut(&id) {
        Some(total) => vector::axpy(1.0, grad.data(), total.data_mut()),
        None => {
            grads.insert(id, grad);
        }
    }
}

fn invalid_handle(op: &str, arg: &str, handle: TensorId) -> Error {
    Error::InvalidHandle { op: op.into(), arg: arg.into(), handle }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::ops::elementwise::{binary, BinaryKind};

    fn vector(tape: &mut Tape, values: &[f32], requires_grad: bool) -> TensorId {
        tape.leaf(Tensor::new(vec![values.len()], values.to_vec()).unwrap(), requires_grad).unwrap()
    }

    #[test]
    fn gradients_accumulate_over_uses_and_calls() {
        let mut tape = Tape::new();
        let x = vector(&mut tape, &[3.0], true);
        // y = x·x + x: dy/dx = 2x + 1 = 7
        let square = binary(&mut tape, BinaryKind::Mul, x, x).unwrap();
        let y = binary(&mut tape, BinaryKind::Add, square, x).unwrap();
        tape.backward(y).unwrap();
        assert_eq!(tape.grad("t", "x", x).unwrap().unwrap().data(), &[7.0]);
        tape.backward(y).unwrap();
        assert_eq!(tape.grad("t", "x", x).unwrap().unwrap().data(), &[14.0]);
        tape.zero_grad("t", "x", x).unwrap();
        assert!(tape.grad("t", "x", x).unwrap().is_none());
    }

    #[test]
    fn constants_record_no_nodes_and_get_no_gradient() {
        let mut tape = Tape::new();
        let c = vector(&mut tape, &[1.0, 2.0], false);
        let d = vector(&mut tape, &[3.0, 4.0], false);
        let e = binary(&mut tape, BinaryKind::Add, c, d).unwrap();
        assert_eq!(tape.node_count(), 0);
        assert!(!tape.requires_grad("t", "e", e).unwrap());
        assert_eq!(tape.backward(e).unwrap_err().code(), "ShapeMismatch");
        let one = vector(&mut tape, &[1.0], false);
        assert_eq!(tape.backward(one).unwrap_err().code(), "InvalidState");
    }

    #[test]
    fn backward_survives_freed_intermediates_and_freeing_releases_nodes() {
        let mut tape = Tape::new();
        let x = vector(&mut tape, &[2.0], true);
        let c = vector(&mut tape, &[5.0], false);
        let h = binary(&mut tape, BinaryKind::Mul, x, c).unwrap();
        let y = binary(&mut tape, BinaryKind::Mul, h, h).unwrap();
        tape.free("t", "h", h).unwrap();
        assert_eq!(tape.node_count(), 2, "y's node still needs h's node");
        tape.backward(y).unwrap();
        // y = (5x)^2, dy/dx = 50x = 100
        assert_eq!(tape.grad("t", "x", x).unwrap().unwrap().data(), &[100.0]);
        tape.free("t", "y", y).unwrap();
        assert_eq!(tape.node_count(), 0);
        assert_eq!(tape.len(), 2);
        assert_eq!(tape.free("t", "y", y).unwrap_err().code(), "InvalidHandle");
    }

    #[test]
    fn assign_keeps_saved_values_for_backward() {
        let mut tape = Tape::new();
        let x = vector(&mut tape, &[2.0], true);
        let y = binary(&mut tape, BinaryKind::Mul, x, x).unwrap();
        tape.assign("t", "x", x, &[10.0]).unwrap();
        assert_eq!(tape.value("t", "x", x).unwrap().data(), &[10.0]);
        tape.backward(y).unwrap();
        assert_eq!(tape.grad("t", "x", x).unwrap().unwrap().data(), &[4.0]);
        assert_eq!(tape.assign("t", "x", x, &[1.0, 2.0]).unwrap_err().code(), "ShapeMismatch");
    }
}

//! Long-range sequence tasks for recurrent nets, drawn from the seeded [`Rng`] so every
//! runtime (Node, browsers, native tests) produces the same data for the same seed.
//!
//! Both tasks hide the information the target needs far from where the answer is read (the
//! last step), so a net can solve them only if gradients carry across the whole sequence.
//!
//! - [`adding_problem`]: Hochreiter & Schmidhuber's adding problem (LSTM paper, 1997,
//!   experiment 4) in the variant of Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio
//!   (2016): values U[0, 1), one marker in each half, target the plain sum.
//! - [`first_symbol`]: a sequence of random one-hot symbols; the class is the first one.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// The most values (inputs) one generated task may hold.
pub const MAX_TASK_VALUES: usize = 1 << 27;
/// The most symbol classes of [`first_symbol`].
pub const MAX_CLASSES: usize = 1 << 16;

/// How many input values `count` sequences of `length` steps of `features` values take:
/// at least one sequence, and at most [`MAX_TASK_VALUES`] values.
pub fn input_len(op: &str, length: usize, features: usize, count: usize) -> Result<usize> {
    if count == 0 {
        return Err(Error::invalid(op, "count", "an integer ≥ 1", "0"));
    }
    let needed = count.checked_mul(length).and_then(|v| v.checked_mul(features));
    match needed {
        Some(values) if values <= MAX_TASK_VALUES => Ok(values),
        _ => Err(Error::TooLarge { op: op.into(), arg: "count".into(), requested: (count as u64).saturating_mul(length as u64).saturating_mul(features as u64), limit: MAX_TASK_VALUES as u64 }),
    }
}

/// Checks that `count` sequences of `length` steps of `features` fill `inputs_len` values
/// exactly (see [`input_len`]).
fn check_sizes(op: &str, length: usize, features: usize, count: usize, inputs_len: usize) -> Result<()> {
    let values = input_len(op, length, features, count)?;
    if values == inputs_len {
        Ok(())
    } else {
        Err(Error::shape(op, "x", format!("{} values ([{}, {}, {}])", values, count, length, features), format!("{} values", inputs_len)))
    }
}

/// The adding problem with sequences of `length` steps: fills `inputs` ([count, T, 2]) and
/// `targets` ([count]; count = `targets.len()`).
///
/// Each step holds `[value, marker]` with value ~ U[0, 1). Exactly two steps are marked (1;
/// every other marker is 0): one drawn uniformly from the first half, steps [0, ⌊T/2⌋), and
/// one from the second half, [⌊T/2⌋, T). The target is the sum of the two marked values, in
/// [0, 2). Predicting the mean, 1, scores an MSE of 1/6; Hochreiter & Schmidhuber count a
/// sequence as solved when the prediction is within 0.04 of the target. Per sequence, the
/// generator draws the T values first, then the two positions. Needs T ≥ 2.
pub fn adding_problem(length: usize, seed: u64, inputs: &mut [f32], targets: &mut [f32]) -> Result<()> {
    let op = "addingProblem";
    if length < 2 || length > MAX_TASK_VALUES {
        return Err(Error::invalid(op, "length", format!("an integer in [2, {}] (one marker in each half)", MAX_TASK_VALUES), length.to_string()));
    }
    check_sizes(op, length, 2, targets.len(), inputs.len())?;
    let mut rng = Rng::new(seed);
    let half = length / 2;
    for (sequence, target) in inputs.chunks_exact_mut(length * 2).zip(targets.iter_mut()) {
        for step in sequence.chunks_exact_mut(2) {
            step[0] = rng.uniform(0.0, 1.0);
            step[1] = 0.0;
        }
        let first = rng.below(half as u32) as usize;
        let second = half + rng.below((length - half) as u32) as usize;
        sequence[first * 2 + 1] = 1.0;
        sequence[second * 2 + 1] = 1.0;
        *target = sequence[first * 2] + sequence[second * 2];
    }
    Ok(())
}

/// "Remember the first symbol" with sequences of `length` steps over `classes` symbols:
/// fills `inputs` ([count, T, classes], one-hot rows) and `labels` ([count]; count =
/// `labels.len()`). Every step's symbol is drawn uniformly and independently; the label is the
/// first step's symbol, so the later T − 1 steps are distractors a net must carry its memory
/// across. Chance accuracy is 1/classes.
pub fn first_symbol(length: usize, classes: usize, seed: u64, inputs: &mut [f32], labels: &mut [i32]) -> Result<()> {
    let op = "firstSymbolTask";
    if length == 0 || length > MAX_TASK_VALUES {
        return Err(Error::invalid(op, "length", format!("an integer in [1, {}]", MAX_TASK_VALUES), length.to_string()));
    }
    if classes < 2 || classes > MAX_CLASSES {
        return Err(Error::invalid(op, "classes", format!("an integer in [2, {}]", MAX_CLASSES), classes.to_string()));
    }
    check_sizes(op, length, classes, labels.len(), inputs.len())?;
    let mut rng = Rng::new(seed);
    for (sequence, label) in inputs.chunks_exact_mut(length * classes).zip(labels.iter_mut()) {
        sequence.iter_mut().for_each(|v| *v = 0.0);
        for (step, one_hot) in sequence.chunks_exact_mut(classes).enumerate() {
            let symbol = rng.below(classes as u32) as usize;
            one_hot[symbol] = 1.0;
            if step == 0 {
                *label = symbol as i32;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_problem_marks_one_step_in_each_half_and_sums_them() {
        let (length, count) = (7, 50);
        let mut inputs = vec![f32::NAN; count * length * 2];
        let mut targets = vec![f32::NAN; count];
        adding_problem(length, 3, &mut inputs, &mut targets).unwrap();
        for (sequence, &target) in inputs.chunks_exact(length * 2).zip(&targets) {
            let marked: Vec<usize> = (0..length).filter(|&t| sequence[t * 2 + 1] == 1.0).collect();
            assert_eq!(marked.len(), 2);
            assert!(marked[0] < length / 2 && marked[1] >= length / 2);
            assert!((0..length).all(|t| (0.0..1.0).contains(&sequence[t * 2]) && (sequence[t * 2 + 1] == 0.0 || sequence[t * 2 + 1] == 1.0)));
            assert_eq!(target, sequence[marked[0] * 2] + sequence[marked[1] * 2]);
        }
        let mut again = vec![0.0; inputs.len()];
        adding_problem(length, 3, &mut again, &mut targets).unwrap();
        assert_eq!(again, inputs);
    }

    #[test]
    fn first_symbol_labels_the_first_one_hot_row() {
        let (length, classes, count) = (5, 4, 40);
        let mut inputs = vec![f32::NAN; count * length * classes];
        let mut labels = vec![-1; count];
        first_symbol(length, classes, 9, &mut inputs, &mut labels).unwrap();
        for (sequence, &label) in inputs.chunks_exact(length * classes).zip(&labels) {
            assert!(sequence.chunks_exact(classes).all(|row| row.iter().sum::<f32>() == 1.0));
            assert_eq!(sequence[label as usize], 1.0);
        }
        let seen: std::collections::BTreeSet<i32> = labels.iter().cloned().collect();
        assert_eq!(seen.len(), classes);
    }

    #[test]
    fn bad_sizes_are_typed_errors() {
        let mut targets = vec![0.0; 2];
        assert!(matches!(adding_problem(1, 0, &mut [0.0; 4], &mut targets), Err(Error::InvalidArgument { .. })));
        assert!(matches!(adding_problem(3, 0, &mut [0.0; 11], &mut targets), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(adding_problem(3, 0, &mut [], &mut []), Err(Error::InvalidArgument { .. })));
        assert!(matches!(first_symbol(3, 1, 0, &mut [0.0; 6], &mut [0; 2]), Err(Error::InvalidArgument { .. })));
    }
}

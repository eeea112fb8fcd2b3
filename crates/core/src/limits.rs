//! What one model may ask of a WebAssembly instance, whose 32-bit address space holds at most
//! 4 GiB: its state at most 1 GiB, one batch's working memory at most 1 GiB, which leaves room
//! for the staged inputs and everything else. The builder refuses a spec past these bounds
//! with `TooLarge` naming the layer, and every batch is checked against them before it runs.

/// The most units one layer may have.
pub const MAX_UNITS: usize = 1 << 16;

/// The most values one example may take in any layer's output or workspace.
pub const MAX_EXAMPLE_LEN: usize = 1 << 24;

/// The most parameter values (BatchNorm's statistics and scratch included) a model may hold:
/// with a gradient and two optimiser moments for each, 1 GiB of f32. Recurrent layers hold
/// their W_hh once more, packed for the per-step products (at most 256 MiB more).
pub const MAX_PARAMETERS: usize = 1 << 26;

/// The most values one batch may occupy across every layer's output, workspace and gradient
/// buffers (1 GiB of f32).
pub const MAX_BATCH_VALUES: usize = 1 << 28;

//! Model ABI (filled in by the networks work).

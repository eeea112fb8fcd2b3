//! Hot loops. Each public function has a fixed contract (stated on it) and is implemented
//! twice where it matters: with `core::arch::wasm32` SIMD128 when compiled for wasm32 with
//! `+simd128`, and as a scalar twin with the same signature for native builds and as the
//! test reference.

pub mod activation;
pub mod gemm;
pub mod vector;

pub use gemm::sgemm;

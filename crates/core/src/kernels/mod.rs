//! Hot loops. Each public function has a fixed contract (stated on it) and is written once
//! on [`lanes::F32x4`], which is SIMD128 when compiled for wasm32 with `+simd128` and a scalar
//! twin with the same semantics elsewhere (native builds and tests run the same algorithm).

pub mod activation;
pub mod exp;
pub mod gemm;
pub mod lanes;
pub mod vector;

pub use gemm::sgemm;
pub use lanes::SIMD;

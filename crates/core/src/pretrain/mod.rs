//! Greedy layer-wise pretraining (Hinton, Osindero & Teh 2006; Bengio et al. 2007): the pieces
//! that need the core. An [`rbm::Rbm`] trained by contrastive divergence pretrains one sigmoid
//! dense layer; the TypeScript `pretrain()` stacks them (and autoencoders, which reuse the
//! ordinary model) into a deep belief net.

pub mod rbm;

pub use rbm::{CdConfig, Gradient, Part, Rbm};

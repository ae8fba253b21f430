//! Complete models assembled from [`crate::nn`] layers.
//!
//! | file | model |
//! |---|---|
//! | [`gpt`] | `GPT`: a decoder-only transformer language model with sampling and a key/value cache |

pub mod gpt;

pub use gpt::{GPTConfig, Positions, Sampling, GPT};

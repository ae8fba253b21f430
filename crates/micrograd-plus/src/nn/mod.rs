//! Neural-network building blocks, built only from tensor ops: the
//! [`Module`] trait, layers, activations, normalisation, containers and
//! initialisers.
//!
//! | file | contents |
//! |---|---|
//! | [`module`] | the `Module` trait: forward, named parameters, train/eval, state dict |
//! | [`field`] | `#[derive(Module)]`: which fields register as layers, parameters and buffers |
//! | [`linear`] | `Linear` |
//! | [`conv`] | `Conv2d` (stride, padding, dilation, groups) |
//! | [`pool`] | `MaxPool2d`, `AvgPool2d`, `AdaptiveAvgPool2d` |
//! | [`batch_norm`] | `BatchNorm1d`, `BatchNorm2d` with running statistics |
//! | [`activation`] | `ReLU`, `ReLU6`, `LeakyReLU`, `Hardtanh`, `Hardswish`, `Hardsigmoid`, `Sigmoid`, `LogSigmoid`, `Tanh`, `GELU`, `ELU`, `SELU`, `CELU`, `SiLU`, `Mish`, `Softplus`, `Softsign`, `Softmax`, `Softmin`, `LogSoftmax`, `Identity`, `Flatten` |
//! | [`dropout`] | `Dropout`, `Dropout2d` |
//! | [`layer_norm`] | `LayerNorm` |
//! | [`sequential`] | `Sequential` |
//! | [`spec`] | a `Sequential` written down as data (`LayerSpec`), for building and exporting |
//! | [`observe`] | opt-in summaries of activation outputs (dead units, saturation) for the training doctor |
//! | [`loss`] | MSE, L1, Huber, SmoothL1, CrossEntropy, NLL, BCE, BCEWithLogits, KLDiv, MarginRanking, CosineEmbedding, TripletMargin, SoftMargin, MultiLabelSoftMargin, PoissonNLL, GaussianNLL |
//! | [`embedding`] | `Embedding`, `PositionalEmbedding` (learned), `PositionalEncoding` (sinusoidal) |
//! | [`attention`] | `MultiHeadAttention` (fused, causal/padding masks), `KvCache` |
//! | [`transformer`] | `TransformerBlock` (pre-norm), `Mlp` |
//! | [`init`] | Xavier, Kaiming, normal, uniform, constant initialisers |
//!
//! ```
//! use micrograd_plus::nn::{Linear, Module, ReLU, Sequential};
//! use micrograd_plus::Tensor;
//! micrograd_plus::manual_seed(42);
//! let model = Sequential::new().layer(Linear::new(784, 128, true)).layer(ReLU).layer(Linear::new(128, 10, true));
//! let logits = model.forward(&Tensor::rand(&[64, 784], 0)).unwrap();
//! assert_eq!(logits.shape(), &[64, 10]);
//! ```

pub mod activation;
pub mod attention;
pub mod batch_norm;
pub mod conv;
pub mod conv1d;
pub mod conv_transpose;
pub mod dropout;
pub mod embedding;
pub mod field;
pub mod group_norm;
pub mod init;
pub mod layer_norm;
pub mod linear;
pub mod loss;
pub mod module;
pub mod observe;
pub mod pool;
pub mod sequential;
pub mod spec;
pub mod transformer;
pub mod upsample;

pub use activation::{
    Flatten, Hardsigmoid, Hardswish, Hardtanh, Identity, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
    ReLU, ReLU6, SiLU, Sigmoid, Softmax, Softmin, Softplus, Softsign, Tanh, CELU, ELU, GELU, SELU,
};
pub use attention::{KvCache, MultiHeadAttention};
pub use batch_norm::{BatchNorm1d, BatchNorm2d, BatchNormConfig};
pub use conv::{Conv2d, Conv2dConfig};
pub use conv1d::{Conv1d, Conv1dConfig};
pub use conv_transpose::ConvTranspose2d;
pub use dropout::{Dropout, Dropout2d};
pub use embedding::{Embedding, PositionalEmbedding, PositionalEncoding};
pub use group_norm::{GroupNorm, InstanceNorm2d};
pub use layer_norm::LayerNorm;
pub use linear::Linear;
/// `#[derive(Module)]`: the rules are in [`field`].
pub use micrograd_plus_derive::Module;
pub use module::{LoadReport, Module, Visitor};
pub use pool::{AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d};
pub use sequential::Sequential;
pub use transformer::TransformerBlock;
pub use upsample::{Upsample, UpsampleTo};

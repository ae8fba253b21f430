//! Training: the loop, metrics, pictures, checkpoints and the milestone
//! recipes.
//!
//! | file | contents |
//! |---|---|
//! | [`trainer`] | `Trainer`: train an epoch, evaluate, fit with early stopping and checkpoints |
//! | [`saved`] | what a checkpoint holds, from its own metadata: recipe, architecture, the model |
//! | [`metrics`] | confusion matrix, per-epoch metrics, history as CSV |
//! | [`doctor`] | the training doctor: watches a run's signals and names what goes wrong |
//! | [`charts`] | loss/accuracy curves and confusion-matrix PNGs |
//! | [`landscape`] | the loss along two filter-normalised directions around trained weights, as a PNG |
//! | [`mlp_mnist`] | milestone 1: the MLP on MNIST |
//! | [`cnn_mnist`] | milestone 2: the small CNN on MNIST |
//! | [`cifar10`] | milestones 3 and 4: the BatchNorm CNN on CIFAR-10 with augmentation |
//! | [`profile`] | a few training steps of a recipe under the profiler (`mgp profile`) |
//! | [`trajectories`] | SGD, momentum, Adam and RMSprop on Rosenbrock, Beale and a saddle, as a PNG |
//! | [`xor`] | the XOR milestone |
//! | [`gpt`] | milestone 5: the character-level GPT recipe, checkpoints, loss curves |
//! | [`corpus`] | the GPT recipes' corpora (built in, or a file), their prompts and presets |
//! | [`reversal`] | the attention milestone: reversing digit sequences |
//! | [`moons`], [`plot`] | the scalar engine's two-moons demo and its decision boundary |
pub mod charts;
pub mod cifar10;
pub mod cnn_mnist;
pub mod corpus;
pub mod doctor;
pub mod gpt;
pub mod graph_examples;
pub mod landscape;
pub mod metrics;
pub mod mlp_mnist;
pub mod moons;
pub mod plot;
pub mod profile;
pub mod reversal;
pub mod saved;
pub mod trainer;
pub mod trajectories;
pub mod xor;

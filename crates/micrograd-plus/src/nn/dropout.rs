//! `Dropout(p)` and `Dropout2d(p)`: randomly zero activations while
//! training so the network cannot rely on any single unit.
//!
//! Inverted dropout: kept values are scaled by `1/(1-p)` during training, so
//! the expected activation is unchanged and evaluation is the identity.
//! `Dropout2d` drops whole channels of `(N, C, H, W)` maps, since neighbouring
//! pixels of one channel are too correlated for per-pixel dropout to help.
//!
//! Each layer draws its masks from its own generator. [`generators`] finds
//! the generators of every dropout layer inside a model, so a training
//! checkpoint can save their positions and a resumed run can drop exactly
//! the units the uninterrupted run would have dropped.

use super::Module;
use crate::random::with_rng;
use crate::tensor::ops::dropout::{check_probability, dropout_with};
use crate::tensor::Tensor;
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// One layer's generator, shared with the handles [`generators`] returns.
/// ChaCha12 is the algorithm behind rand's `StdRng` (same seed, same
/// draws), used by name because its position can be read and set.
type SharedRng = Arc<Mutex<ChaCha12Rng>>;

thread_local! {
    /// Set while [`generators`] walks a model: each dropout layer the walk
    /// reaches adds its generator here.
    static COLLECTING: RefCell<Option<Vec<SharedRng>>> = const { RefCell::new(None) };
}

/// The state both dropout layers share: probability, mode and generator.
struct Dropper {
    p: f64,
    training: bool,
    /// Seeded from the default generator when the layer is built, so a run
    /// seeded with `manual_seed` drops the same units every time.
    rng: SharedRng,
}

impl Dropper {
    fn new(op: &'static str, p: f64) -> Result<Dropper> {
        check_probability(op, p)?;
        Ok(Dropper {
            p,
            training: true,
            rng: Arc::new(Mutex::new(ChaCha12Rng::seed_from_u64(with_rng(|r| {
                r.r#gen()
            })))),
        })
    }

    /// Sets the mode; during a [`generators`] walk, also reports this
    /// layer's generator (`set_training` is the one call every container
    /// passes on to all its children).
    fn set_training(&mut self, training: bool) {
        self.training = training;
        COLLECTING.with(|c| {
            if let Some(found) = c.borrow_mut().as_mut() {
                found.push(Arc::clone(&self.rng));
            }
        });
    }

    /// [`dropout_with`] this layer's generator while training; the
    /// identity in evaluation.
    fn apply(&self, x: &Tensor, mask_shape: &[usize]) -> Result<Tensor> {
        if !self.training {
            return Ok(x.clone());
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        dropout_with(
            x,
            self.p,
            mask_shape,
            std::iter::repeat_with(|| rng.r#gen()),
        )
    }
}

/// Zeroes each element with probability `p` while training.
///
/// ```
/// use micrograd_plus::{nn::{Dropout, Module}, Tensor};
/// let mut drop = Dropout::new(0.5).unwrap();
/// let y = drop.forward(&Tensor::ones(&[1000])).unwrap().to_vec::<f32>();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// drop.eval();
/// assert_eq!(drop.forward(&Tensor::ones(&[3])).unwrap().to_vec::<f32>(), vec![1.0; 3]);
/// assert!(Dropout::new(1.5).is_err());
/// ```
pub struct Dropout(Dropper);

impl Dropout {
    /// Dropout with probability `p` in [0, 1] (PyTorch's range: `p = 1`
    /// zeroes everything while training). The work is
    /// [`Tensor::dropout`]'s, with this layer's own generator.
    ///
    /// ```
    /// let err = micrograd_plus::nn::Dropout::new(-0.1).err().unwrap();
    /// assert_eq!(err.to_string(), "Dropout: dropout probability has to be between 0 and 1, got -0.1");
    /// ```
    pub fn new(p: f64) -> Result<Dropout> {
        Ok(Dropout(Dropper::new("Dropout", p)?))
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.apply(x, x.shape())
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training);
    }
    fn is_training(&self) -> bool {
        self.0.training
    }
    fn describe(&self) -> String {
        format!("Dropout(p={})", self.0.p)
    }
}

/// Zeroes whole channels of `(N, C, H, W)` (or `(C, H, W)`) input with
/// probability `p` while training.
///
/// ```
/// use micrograd_plus::{nn::{Dropout2d, Module}, Tensor};
/// let drop = Dropout2d::new(0.5).unwrap();
/// let y = drop.forward(&Tensor::ones(&[2, 8, 3, 3])).unwrap().to_vec::<f32>();
/// for channel in y.chunks(9) {
///     assert!(channel.iter().all(|&v| v == channel[0])); // all or nothing
/// }
/// ```
pub struct Dropout2d(Dropper);

impl Dropout2d {
    /// Channel dropout with probability `p` in [0, 1].
    ///
    /// ```
    /// assert!(micrograd_plus::nn::Dropout2d::new(0.2).is_ok());
    /// ```
    pub fn new(p: f64) -> Result<Dropout2d> {
        Ok(Dropout2d(Dropper::new("Dropout2d", p)?))
    }
}

impl Module for Dropout2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shape = x.shape();
        if !(3..=4).contains(&shape.len()) {
            return Err(Error::shape(
                "Dropout2d",
                format!("expected (N, C, H, W) or (C, H, W) input, got {shape:?}"),
            ));
        }
        // One draw per channel, broadcast over the spatial dims.
        let mut mask_shape = shape.to_vec();
        let n = mask_shape.len();
        mask_shape[n - 2..].fill(1);
        self.0.apply(x, &mask_shape)
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training);
    }
    fn is_training(&self) -> bool {
        self.0.training
    }
    fn describe(&self) -> String {
        format!("Dropout2d(p={})", self.0.p)
    }
}

/// Where a dropout layer's generator stands: enough to continue its exact
/// sequence of masks. Serialised into training checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorState {
    /// The 32-byte ChaCha key, as hex.
    pub seed: String,
    /// The ChaCha stream.
    pub stream: u64,
    /// Position in the stream, in 32-bit words (a u128, as decimal text).
    pub word_pos: String,
}

impl GeneratorState {
    /// The state of `rng`.
    ///
    /// ```
    /// use micrograd_plus::nn::dropout::GeneratorState;
    /// use rand::{Rng, SeedableRng};
    /// let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(7);
    /// let _: u64 = rng.r#gen();
    /// let mut copy = GeneratorState::of(&rng).to_rng().unwrap();
    /// assert_eq!(copy.r#gen::<u64>(), rng.r#gen::<u64>());
    /// ```
    pub fn of(rng: &ChaCha12Rng) -> GeneratorState {
        GeneratorState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator standing where this state says; a malformed state (from
    /// a damaged file) is an error.
    pub fn to_rng(&self) -> Result<ChaCha12Rng> {
        let bad = |what: &str| Error::argument("generator state", format!("invalid {what}"));
        let hex = self.seed.as_bytes();
        if hex.len() != 64 {
            return Err(bad("seed"));
        }
        let mut seed = [0u8; 32];
        for (byte, pair) in seed.iter_mut().zip(hex.chunks_exact(2)) {
            let text = std::str::from_utf8(pair).map_err(|_| bad("seed"))?;
            *byte = u8::from_str_radix(text, 16).map_err(|_| bad("seed"))?;
        }
        let word_pos: u128 = self.word_pos.parse().map_err(|_| bad("word_pos"))?;
        let mut rng = ChaCha12Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(word_pos);
        Ok(rng)
    }
}

/// A handle on one dropout layer's generator (see [`generators`]).
pub struct DropoutGenerator(SharedRng);

impl DropoutGenerator {
    /// The generator's current state.
    pub fn state(&self) -> GeneratorState {
        GeneratorState::of(&self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Moves the generator to `state` (from [`DropoutGenerator::state`]).
    /// A malformed state is an error and leaves the generator as it was.
    pub fn set_state(&self, state: &GeneratorState) -> Result<()> {
        let rng = state.to_rng()?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = rng;
        Ok(())
    }
}

/// The generators of every [`Dropout`] and [`Dropout2d`] layer inside
/// `model`, in the order the model passes `set_training` to its layers
/// (stable for a given architecture). The model's mode is unchanged.
///
/// ```
/// use micrograd_plus::nn::{dropout::generators, Dropout, Linear, Module, Sequential};
/// micrograd_plus::manual_seed(0);
/// let mut model = Sequential::new().layer(Linear::new(4, 4, true)).layer(Dropout::new(0.5).unwrap());
/// let gens = generators(&mut model);
/// assert_eq!(gens.len(), 1);
/// let saved = gens[0].state();
/// let x = micrograd_plus::Tensor::ones(&[2, 4]);
/// let first = model.forward(&x).unwrap().to_vec::<f32>();
/// gens[0].set_state(&saved).unwrap(); // rewind: the same units are dropped again
/// assert_eq!(model.forward(&x).unwrap().to_vec::<f32>(), first);
/// ```
pub fn generators(model: &mut dyn Module) -> Vec<DropoutGenerator> {
    COLLECTING.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let training = model.is_training();
    model.set_training(training);
    let found = COLLECTING
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    found.into_iter().map(DropoutGenerator).collect()
}

//! Elementwise unary ops: math functions, activations, and arithmetic with a
//! scalar. Each is a [`UnaryFn`]: `f` and its derivative `df`, side by side.
//! One forward (`map`) and one backward (`grad · df(x, y)`) serve them all.

use super::{chain_unary, map, UnaryFn};
use crate::tensor::{Element, Tensor};
use crate::{Error, Result};

/// Applies a [`UnaryFn`] and records its backward rule.
pub(crate) fn unary<F: UnaryFn>(x: &Tensor, op: F) -> Tensor {
    let out = map(&x.storage(), &op);
    Tensor::record(
        out,
        x.shape().to_vec(),
        F::NAME,
        vec![x.clone()],
        move |g, inputs, y| {
            let dx = chain_unary(&g.storage(), &inputs[0].storage(), &y.storage(), &op);
            Ok(vec![Some(Tensor::from_storage(dx, g.shape().to_vec()))])
        },
    )
}

/// Declares a parameterless unary op: its struct, `f`, `df`, and the
/// documented `Tensor` method.
macro_rules! unary_op {
    ($(#[$doc:meta])* $method:ident, $Op:ident, $name:literal, |$x:ident| $f:expr, |$dx:ident, $dy:ident| $df:expr $(, gate = $gate:literal)?) => {
        unary_op!($(#[$doc])* $method, $Op, $name, fused |$x, _fused| $f, |$dx, $dy, _fused| $df $(, gate = $gate)?);
    };
    // An op whose `f` and `df` take the fused-multiply-add flag
    // (`UnaryFn::f_fused`); their plain forms pass `false`.
    ($(#[$doc:meta])* $method:ident, $Op:ident, $name:literal, fused |$x:ident, $xf:ident| $f:expr, |$dx:ident, $dy:ident, $df_fused:ident| $df:expr $(, gate = $gate:literal)?) => {
        #[doc = concat!("The `", $name, "` function and its derivative.")]
        #[derive(Clone, Copy)]
        pub struct $Op;
        impl UnaryFn for $Op {
            const NAME: &'static str = $name;
            $(fn gate(&self) -> bool {
                $gate
            })?
            #[inline(always)]
            fn f<T: Element>(&self, x: T) -> T {
                self.f_fused(x, false)
            }
            #[inline(always)]
            fn df<T: Element>(&self, x: T, y: T) -> T {
                self.df_fused(x, y, false)
            }
            #[allow(unused_variables)]
            #[inline(always)]
            fn f_fused<T: Element>(&self, $x: T, $xf: bool) -> T {
                $f
            }
            #[allow(unused_variables)]
            #[inline(always)]
            fn df_fused<T: Element>(&self, $dx: T, $dy: T, $df_fused: bool) -> T {
                $df
            }
        }
        impl Tensor {
            $(#[$doc])*
            pub fn $method(&self) -> Tensor {
                unary(self, $Op)
            }
        }
    };
}

/// Declares a unary op with one scalar parameter (stored as f64).
macro_rules! unary_op_with {
    ($(#[$doc:meta])* $method:ident($p:ident), $Op:ident, $name:literal, |$x:ident| $f:expr, |$dx:ident, $dy:ident| $df:expr $(, gate = $gate:expr)?) => {
        #[doc = concat!("The `", $name, "` function (with its parameter) and its derivative.")]
        #[derive(Clone, Copy)]
        pub struct $Op(pub f64);
        impl UnaryFn for $Op {
            const NAME: &'static str = $name;
            #[inline(always)]
            fn f<T: Element>(&self, $x: T) -> T {
                let $p = T::of(self.0);
                $f
            }
            #[allow(unused_variables)]
            #[inline(always)]
            fn df<T: Element>(&self, $dx: T, $dy: T) -> T {
                let $p = T::of(self.0);
                $df
            }
            $(fn gate(&self) -> bool {
                let $p = self.0;
                $gate
            })?
        }
        impl Tensor {
            $(#[$doc])*
            pub fn $method(&self, $p: f64) -> Tensor {
                unary(self, $Op($p))
            }
        }
    };
}

unary_op!(
    /// `-x`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([1.0f32, -2.0]).unwrap().neg().to_vec::<f32>(), vec![-1.0, 2.0]);
    /// ```
    neg, Neg, "neg", |x| -x, |x, y| -T::one()
);
unary_op!(
    /// `e^x`; its derivative is itself.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().exp().to_vec::<f32>(), vec![1.0]);
    /// ```
    exp, Exp, "exp", |x| x.exp(), |x, y| y
);
unary_op!(
    /// Natural logarithm.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([1.0f32]).unwrap().log().to_vec::<f32>(), vec![0.0]);
    /// ```
    log, Log, "log", |x| x.ln(), |x, y| x.recip()
);
unary_op!(
    /// Square root.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([4.0f32]).unwrap().sqrt().to_vec::<f32>(), vec![2.0]);
    /// ```
    sqrt, Sqrt, "sqrt", |x| x.sqrt(), |x, y| T::of(0.5) / y
);
unary_op!(
    /// Absolute value (gradient 0 at 0, like PyTorch).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([-3.0f32]).unwrap().abs().to_vec::<f32>(), vec![3.0]);
    /// ```
    abs, Abs, "abs", |x| x.abs(), |x, y| sign(x)
);
unary_op!(
    /// Sine.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().sin().to_vec::<f32>(), vec![0.0]);
    /// ```
    sin, Sin, "sin", |x| x.sin(), |x, y| x.cos()
);
unary_op!(
    /// Cosine.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().cos().to_vec::<f32>(), vec![1.0]);
    /// ```
    cos, Cos, "cos", |x| x.cos(), |x, y| -x.sin()
);
unary_op!(
    /// `max(x, 0)` (gradient 0 at 0, and NaN stays NaN, like PyTorch).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([-1.0f32, 2.0]).unwrap().relu().to_vec::<f32>(), vec![0.0, 2.0]);
    /// ```
    relu, Relu, "relu", |x| if x > T::zero() || x.is_nan() { x } else { T::zero() },
    // PyTorch's rule: the gradient passes unless the result is <= 0 (so it
    // does at NaN, and not at 0).
    |x, y| if y <= T::zero() { T::zero() } else { T::one() },
    gate = true
);
unary_op!(
    /// The logistic function `1 / (1 + e^-x)`, computed without overflow.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().sigmoid().to_vec::<f32>(), vec![0.5]);
    /// ```
    sigmoid, Sigmoid, "sigmoid", |x| sigmoid(x), |x, y| y * (T::one() - y)
);
unary_op!(
    /// Hyperbolic tangent.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().tanh().to_vec::<f32>(), vec![0.0]);
    /// ```
    tanh, Tanh, "tanh", |x| x.tanh(), |x, y| T::one() - y * y
);
unary_op!(
    /// SiLU (swish): `x · sigmoid(x)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().silu().to_vec::<f32>(), vec![0.0]);
    /// ```
    silu, Silu, "silu", |x| x * sigmoid(x), |x, y| {
        let s = sigmoid(x);
        s * (T::one() + x * (T::one() - s))
    }
);
// Fused multiply-adds in erfc's and exp's polynomials: GELU's forward on
// 1M values, one core, side by side, 1.58-1.70 -> 1.29-1.40 ms under AVX2
// and 1.23-1.25 -> 0.95-0.96 ms under AVX-512.
unary_op!(
    /// GELU, exact form `x · Φ(x)` with the normal CDF Φ.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1.0f64]).unwrap().gelu();
    /// assert!((y.item().unwrap() - 0.8413447460685429).abs() < 1e-12);
    /// ```
    gelu, Gelu, "gelu", fused |x, fused| x * normal_cdf(x, fused), |x, y, fused| {
        // d/dx x·Φ(x) = Φ(x) + x·φ(x). Φ(x) is read back from the output,
        // y / x (within two rounding errors), instead of a second erfc,
        // which halves the cost; Φ(0) = ½ (and for subnormal x, where the
        // quotient would lose precision).
        let cdf = if x.abs() >= T::min_positive_value() { y / x } else { T::of(0.5) };
        let pdf = (-(x * x) * T::of(0.5)).exp_fast_with(fused)
            * T::of(1.0 / (2.0 * std::f64::consts::PI).sqrt());
        cdf + x * pdf
    }
);
unary_op!(
    /// GELU, tanh approximation (PyTorch's `approximate="tanh"`).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1.0f64]).unwrap().gelu_tanh();
    /// assert!((y.item().unwrap() - 0.8411919906082768).abs() < 1e-12);
    /// ```
    gelu_tanh, GeluTanh, "gelu_tanh", |x| T::of(0.5) * x * (T::one() + gelu_inner(x).tanh()), |x, y| {
        let t = gelu_inner(x).tanh();
        let inner_dx = T::of(GELU_C) * (T::one() + T::of(3.0 * 0.044715) * x * x);
        T::of(0.5) * (T::one() + t) + T::of(0.5) * x * (T::one() - t * t) * inner_dx
    }
);

unary_op_with!(
    /// `x > 0 ? x : alpha·x`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-2.0f32, 3.0]).unwrap().leaky_relu(0.1);
    /// assert_eq!(y.to_vec::<f32>(), vec![-0.2, 3.0]);
    /// ```
    leaky_relu(alpha), LeakyRelu, "leaky_relu", |x| if x > T::zero() { x } else { alpha * x }, |x, y| {
        if x > T::zero() {
            T::one()
        } else {
            alpha
        }
    }
);
unary_op_with!(
    /// ELU: `x > 0 ? x : alpha·(e^x − 1)`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f32, 2.0]).unwrap().elu(1.0);
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 2.0]);
    /// ```
    // PyTorch tests `x <= 0` for the exponential branch, so NaN takes the
    // identity branch and passes its gradient.
    elu(alpha), Elu, "elu", |x| if x <= T::zero() { alpha * x.exp_m1() } else { x }, |x, y| {
        if x <= T::zero() {
            alpha * x.exp()
        } else {
            T::one()
        }
    }
);
unary_op_with!(
    /// `x + s`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[1]).add_scalar(2.0).to_vec::<f32>(), vec![3.0]);
    /// ```
    add_scalar(s), AddScalar, "add_scalar", |x| x + s, |x, y| T::one()
);
unary_op_with!(
    /// `x - s`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[1]).sub_scalar(2.0).to_vec::<f32>(), vec![-1.0]);
    /// ```
    sub_scalar(s), SubScalar, "sub_scalar", |x| x - s, |x, y| T::one()
);
unary_op_with!(
    /// `s - x`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[1]).rsub_scalar(2.0).to_vec::<f32>(), vec![1.0]);
    /// ```
    rsub_scalar(s), RSubScalar, "rsub_scalar", |x| s - x, |x, y| -T::one()
);
unary_op_with!(
    /// `x · s`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[1]).mul_scalar(3.0).to_vec::<f32>(), vec![3.0]);
    /// ```
    mul_scalar(s), MulScalar, "mul_scalar", |x| x * s, |x, y| s
);
unary_op_with!(
    /// `x / s`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::ones(&[1]).div_scalar(4.0).to_vec::<f32>(), vec![0.25]);
    /// ```
    div_scalar(s), DivScalar, "div_scalar", |x| x / s, |x, y| s.recip()
);
unary_op_with!(
    /// `s / x`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::full(&[1], 4.0).rdiv_scalar(2.0).to_vec::<f32>(), vec![0.5]);
    /// ```
    rdiv_scalar(s), RDivScalar, "rdiv_scalar", |x| s / x, |x, y| -y / x
);
unary_op_with!(
    /// `x ** e` for a scalar exponent.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::full(&[1], 3.0).pow_scalar(2.0).to_vec::<f32>(), vec![9.0]);
    /// ```
    pow_scalar(e), PowScalar, "pow_scalar", |x| scalar_pow(x, e), |x, y| {
        if e == T::zero() {
            T::zero()
        } else {
            e * scalar_pow(x, e - T::one())
        }
    },
    // x^0 = 1 has no gradient at all: PyTorch returns zeros, whatever comes in.
    gate = e == 0.0
);

/// `x^e` the way PyTorch computes a power with a scalar exponent: the
/// exponents it special-cases by their exact forms, so that values at the
/// edges agree (`(-∞)^0.5` is sqrt's NaN, where `powf` gives +∞).
#[inline(always)]
fn scalar_pow<T: Element>(x: T, e: T) -> T {
    if e == T::of(2.0) {
        x * x
    } else if e == T::of(3.0) {
        x * x * x
    } else if e == T::of(0.5) {
        x.sqrt()
    } else if e == T::of(-0.5) {
        T::one() / x.sqrt()
    } else if e == T::of(-1.0) {
        T::one() / x
    } else if e == T::of(-2.0) {
        T::one() / (x * x)
    } else {
        x.powf(e)
    }
}

/// Clamps into `[min, max]` (either bound optional). The gradient passes
/// where the input lies inside the closed interval, as in PyTorch.
#[derive(Clone, Copy)]
pub struct Clamp {
    /// Lower bound, if any.
    pub min: Option<f64>,
    /// Upper bound, if any.
    pub max: Option<f64>,
}
impl UnaryFn for Clamp {
    const NAME: &'static str = "clamp";
    fn gate(&self) -> bool {
        true
    }
    fn f<T: Element>(&self, x: T) -> T {
        let x = self
            .min
            .map_or(x, |m| if x < T::of(m) { T::of(m) } else { x });
        self.max
            .map_or(x, |m| if x > T::of(m) { T::of(m) } else { x })
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        // Strictly inside: at x == min or x == max PyTorch passes no gradient.
        let above = self.min.is_none_or(|m| x > T::of(m));
        let below = self.max.is_none_or(|m| x < T::of(m));
        if above && below {
            T::one()
        } else {
            T::zero()
        }
    }
}

impl Tensor {
    /// Clamps every element into `[min, max]`; either bound may be `None`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-2.0f32, 0.5, 3.0]).unwrap().clamp(Some(0.0), Some(1.0));
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Tensor {
        unary(self, Clamp { min, max })
    }
}

unary_op!(
    /// `ln(1 + x)`, accurate for small x; its derivative is `1 / (1 + x)`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1e-10f64]).unwrap().log1p();
    /// assert!((y.item().unwrap() - 1e-10).abs() < 1e-20);
    /// ```
    log1p, Log1p, "log1p", |x| x.ln_1p(), |x, y| (x + T::one()).recip()
);
unary_op!(
    /// `e^x − 1`, accurate for small x; its derivative is `y + 1`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1e-10f64]).unwrap().expm1();
    /// assert!((y.item().unwrap() - 1e-10).abs() < 1e-20);
    /// ```
    expm1, Expm1, "expm1", |x| x.exp_m1(), |x, y| y + T::one()
);
unary_op!(
    /// Base-2 logarithm; its derivative is `1 / (x · ln 2)`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([8.0f32]).unwrap().log2().to_vec::<f32>(), vec![3.0]);
    /// ```
    log2, Log2, "log2", |x| x.log2(), |x, y| (x * T::of(std::f64::consts::LN_2)).recip()
);
unary_op!(
    /// `1 / √x`; its derivative is `−y³ / 2` (PyTorch's form: −∞ at 0).
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([4.0f32]).unwrap().rsqrt().to_vec::<f32>(), vec![0.5]);
    /// ```
    rsqrt, Rsqrt, "rsqrt", |x| x.sqrt().recip(), |x, y| T::of(-0.5) * y * y * y
);
unary_op!(
    /// `x²`; its derivative is `2x`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([-3.0f32]).unwrap().square().to_vec::<f32>(), vec![9.0]);
    /// ```
    square, Square, "square", |x| x * x, |x, y| x + x
);
unary_op!(
    /// `1`, `−1` or `0` by the sign of x (0 for ±0 and NaN, like PyTorch).
    /// Its gradient is exactly 0 everywhere, even for an infinite upstream
    /// gradient (PyTorch's `zeros_like(grad)`).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-2.0f32, 0.0, 5.0]).unwrap().sign();
    /// assert_eq!(y.to_vec::<f32>(), vec![-1.0, 0.0, 1.0]);
    /// ```
    sign, Sign, "sign", |x| sign(x), |x, y| T::zero(),
    gate = true
);
unary_op!(
    /// Tangent; its derivative is `1 + y²`.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::Tensor::new([0.0f32]).unwrap().tan().to_vec::<f32>(), vec![0.0]);
    /// ```
    tan, Tan, "tan", |x| x.tan(), |x, y| T::one() + y * y
);
unary_op!(
    /// The error function; its derivative is `2/√π · e^(−x²)`. Computed in
    /// f64 (libm) for both dtypes, so f32 results are correctly rounded.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.5f64]).unwrap().erf();
    /// assert!((y.item().unwrap() - 0.5204998778130465).abs() < 1e-15);
    /// ```
    erf, Erf, "erf", |x| T::of(libm::erf(x.as_f64())), |x, y| {
        T::of(std::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp()
    }
);
unary_op!(
    /// Hard swish `x · relu6(x + 3) / 6`. Derivative (PyTorch 2.15's): 0 up
    /// to −3, `x/3 + 1/2` on (−3, 3), 1 from 3 on (and at NaN).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-4.0f32, 0.0, 4.0]).unwrap().hardswish();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 0.0, 4.0]);
    /// ```
    hardswish, Hardswish, "hardswish", |x| x * relu6(x + T::of(3.0)) / T::of(6.0), |x, y| {
        if x <= T::of(-3.0) {
            T::zero()
        } else if x < T::of(3.0) {
            x / T::of(3.0) + T::of(0.5)
        } else {
            T::one()
        }
    },
    gate = true
);
unary_op!(
    /// Hard sigmoid `relu6(x + 3) / 6`. Derivative 1/6 strictly inside
    /// (−3, 3), 0 elsewhere (and at NaN), as in PyTorch.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-4.0f32, 0.0, 4.0]).unwrap().hardsigmoid();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 0.5, 1.0]);
    /// ```
    hardsigmoid, Hardsigmoid, "hardsigmoid", |x| relu6(x + T::of(3.0)) / T::of(6.0), |x, y| {
        if x > T::of(-3.0) && x < T::of(3.0) {
            T::of(1.0 / 6.0)
        } else {
            T::zero()
        }
    },
    gate = true
);
unary_op!(
    /// SELU: `scale · (x > 0 ? x : alpha · (e^x − 1))` with PyTorch's
    /// constants (alpha ≈ 1.6733, scale ≈ 1.0507).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1.0f64, 0.0]).unwrap().selu();
    /// assert_eq!(y.to_vec::<f64>(), vec![1.0507009873554805, 0.0]);
    /// ```
    // PyTorch tests `x <= 0` for the exponential branch, as for elu.
    selu, Selu, "selu", |x| {
        if x <= T::zero() {
            T::of(SELU_ALPHA * SELU_SCALE) * x.exp_m1()
        } else {
            T::of(SELU_SCALE) * x
        }
    }, |x, y| {
        if x <= T::zero() {
            T::of(SELU_ALPHA * SELU_SCALE) * x.exp()
        } else {
            T::of(SELU_SCALE)
        }
    }
);
unary_op!(
    /// Mish `x · tanh(softplus(x))`.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f32]).unwrap().mish();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0]);
    /// ```
    mish, Mish, "mish", |x| x * x.exp().ln_1p().tanh(), |x, y| {
        // d/dx x·t(x) = t + x · sigmoid(x) · (1 − t²), t = tanh(softplus(x)).
        let t = x.exp().ln_1p().tanh();
        let s = (T::one() + (-x).exp()).recip();
        t + x * s * (T::one() - t * t)
    }
);
unary_op!(
    /// `ln(sigmoid(x)) = min(x, 0) − ln(1 + e^(−|x|))`, without overflow.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f64]).unwrap().logsigmoid();
    /// assert_eq!(y.item().unwrap(), -(2f64.ln()));
    /// ```
    logsigmoid, LogSigmoid, "logsigmoid", |x| x.min(T::zero()) - (-x.abs()).exp().ln_1p(), |x, y| {
        // PyTorch's form: (x < 0) − sign · z / (1 + z), z = e^(−|x|),
        // sign = 1 below 0 and −1 otherwise.
        let z = (-x.abs()).exp();
        let (max_deriv, sign) = if x < T::zero() {
            (T::one(), T::one())
        } else {
            (T::zero(), -T::one())
        };
        max_deriv - sign * z / (T::one() + z)
    }
);

/// Clamps into `[min, max]` the way PyTorch's `hardtanh` (and `relu6`)
/// does: NaN stays NaN, and the gradient is blocked only where
/// `x <= min` or `x >= max`, so it passes at NaN (unlike `clamp`'s) but not
/// at the bounds.
#[derive(Clone, Copy)]
pub struct Hardtanh {
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
}
impl UnaryFn for Hardtanh {
    const NAME: &'static str = "hardtanh";
    fn gate(&self) -> bool {
        true
    }
    fn f<T: Element>(&self, x: T) -> T {
        Clamp {
            min: Some(self.min),
            max: Some(self.max),
        }
        .f(x)
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        if x <= T::of(self.min) || x >= T::of(self.max) {
            T::zero()
        } else {
            T::one()
        }
    }
}

/// Softplus `ln(1 + e^(βx)) / β`, linear (`x`) where `βx > threshold`:
/// PyTorch's formula, forward and backward (`z / (z + 1)`, `z = e^(βx)`).
#[derive(Clone, Copy)]
pub struct Softplus {
    /// β, the sharpness.
    pub beta: f64,
    /// Above `βx > threshold` the function is the identity.
    pub threshold: f64,
}
impl UnaryFn for Softplus {
    const NAME: &'static str = "softplus";
    fn f<T: Element>(&self, x: T) -> T {
        let (beta, xb) = (T::of(self.beta), x * T::of(self.beta));
        if xb > T::of(self.threshold) {
            x
        } else {
            xb.exp().ln_1p() / beta
        }
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        let xb = x * T::of(self.beta);
        if xb > T::of(self.threshold) {
            T::one()
        } else {
            let z = xb.exp();
            z / (z + T::one())
        }
    }
}

/// CELU `max(0, x) + min(0, α · (e^(x/α) − 1))`; its derivative below 0 is
/// `e^(x/α)` (PyTorch tests `x <= 0`, so NaN takes the identity branch).
#[derive(Clone, Copy)]
pub struct Celu(pub f64);
impl UnaryFn for Celu {
    const NAME: &'static str = "celu";
    fn f<T: Element>(&self, x: T) -> T {
        let alpha = T::of(self.0);
        if x <= T::zero() {
            alpha * (x / alpha).exp_m1()
        } else {
            x
        }
    }
    fn df<T: Element>(&self, x: T, _: T) -> T {
        if x <= T::zero() {
            (x / T::of(self.0)).exp()
        } else {
            T::one()
        }
    }
}

impl Tensor {
    /// Clamps into `[min_val, max_val]` (PyTorch's `hardtanh`, default
    /// `[-1, 1]`); the gradient is 0 at and beyond the bounds and passes at
    /// NaN. `min_val > max_val` is an error, as in PyTorch.
    ///
    /// ```
    /// let x = micrograd_plus::Tensor::new([-2.0f32, 0.5, 3.0]).unwrap();
    /// assert_eq!(x.hardtanh(-1.0, 1.0).unwrap().to_vec::<f32>(), vec![-1.0, 0.5, 1.0]);
    /// assert!(x.hardtanh(1.0, -1.0).is_err());
    /// ```
    pub fn hardtanh(&self, min_val: f64, max_val: f64) -> Result<Tensor> {
        if min_val > max_val {
            return Err(Error::argument(
                "hardtanh",
                format!("min_val cannot be greater than max_val (got {min_val} > {max_val})"),
            ));
        }
        Ok(unary(
            self,
            Hardtanh {
                min: min_val,
                max: max_val,
            },
        ))
    }

    /// `min(max(x, 0), 6)`: [`Tensor::hardtanh`] on `[0, 6]`, so the
    /// gradient is 0 at 0 and at 6, as in PyTorch.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-1.0f32, 3.0, 7.0]).unwrap().relu6();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.0, 3.0, 6.0]);
    /// ```
    pub fn relu6(&self) -> Tensor {
        unary(self, Hardtanh { min: 0.0, max: 6.0 })
    }

    /// Softplus with PyTorch's defaults (β = 1, linear above 20).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f64]).unwrap().softplus();
    /// assert!((y.item().unwrap() - 2f64.ln()).abs() < 1e-15);
    /// ```
    pub fn softplus(&self) -> Tensor {
        self.softplus_with(1.0, 20.0)
    }

    /// Softplus `ln(1 + e^(βx)) / β`, the identity where `βx > threshold`
    /// (PyTorch's `softplus(x, beta, threshold)`).
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f64, 10.0]).unwrap().softplus_with(2.0, 5.0);
    /// assert!((y.to_vec::<f64>()[0] - 2f64.ln() / 2.0).abs() < 1e-15);
    /// assert_eq!(y.to_vec::<f64>()[1], 10.0);
    /// ```
    pub fn softplus_with(&self, beta: f64, threshold: f64) -> Tensor {
        unary(self, Softplus { beta, threshold })
    }

    /// CELU with parameter `alpha`; `alpha = 0` is an error, as in PyTorch.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([-1.0f64, 2.0]).unwrap().celu(1.0).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![(-1f64).exp_m1(), 2.0]);
    /// assert!(micrograd_plus::Tensor::ones(&[1]).celu(0.0).is_err());
    /// ```
    pub fn celu(&self, alpha: f64) -> Result<Tensor> {
        if alpha == 0.0 {
            return Err(Error::argument(
                "celu",
                format!(
                    "ZeroDivisionError: alpha cannot be 0 for CELU (input shape {:?})",
                    self.shape()
                ),
            ));
        }
        Ok(unary(self, Celu(alpha)))
    }

    /// Softsign `x / (1 + |x|)`, built from `abs`, `add` and `div` exactly
    /// as PyTorch defines it, so values and gradients at ±∞ agree too.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([1.0f32, -3.0]).unwrap().softsign();
    /// assert_eq!(y.to_vec::<f32>(), vec![0.5, -0.75]);
    /// ```
    pub fn softsign(&self) -> Tensor {
        self.div(&self.abs().add_scalar(1.0))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Softmin along `dim`: `softmax(−x)`, as PyTorch computes it.
    ///
    /// ```
    /// let y = micrograd_plus::Tensor::new([0.0f64, 0.0]).unwrap().softmin(-1).unwrap();
    /// assert_eq!(y.to_vec::<f64>(), vec![0.5, 0.5]);
    /// ```
    pub fn softmin(&self, dim: isize) -> Result<Tensor> {
        self.neg().softmax(dim)
    }
}

/// SELU's α and scale (PyTorch's constants).
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// `min(max(x, 0), 6)`, NaN staying NaN.
#[inline(always)]
fn relu6<T: Element>(x: T) -> T {
    if x < T::zero() {
        T::zero()
    } else if x > T::of(6.0) {
        T::of(6.0)
    } else {
        x
    }
}

/// `1`, `−1` or `0` by the sign of `x` (0 for ±0 and NaN, like PyTorch).
pub(crate) fn sign<T: Element>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Logistic function that never computes `e^x` for large positive x.
fn sigmoid<T: Element>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// Φ(x), the standard normal CDF, as `erfc(−x/√2)/2`: accurate in both
/// tails (`1 + erf` would cancel to 0 for very negative x).
#[inline(always)]
fn normal_cdf<T: Element>(x: T, fused: bool) -> T {
    T::of(0.5) * (-x * T::of(std::f64::consts::FRAC_1_SQRT_2)).erfc_with(fused)
}

/// √(2/π)
const GELU_C: f64 = 0.797_884_560_802_865_4;

fn gelu_inner<T: Element>(x: T) -> T {
    T::of(GELU_C) * (x + T::of(0.044715) * x * x * x)
}

/// This op family's gradient checks: its part of the catalogue that
/// [`crate::gradcheck::op_checks`] concatenates (and `mgp gradcheck` runs).
pub(crate) mod gradchecks {
    use crate::gradcheck::case::prelude::*;

    pub(crate) fn scalar_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[2, 3];
        out.push(OpCheck::new("add_scalar", "s=1.5", vec![g.randn(s)], |t| {
            Ok(t[0].add_scalar(1.5))
        }));
        out.push(OpCheck::new("sub_scalar", "s=0.7", vec![g.randn(s)], |t| {
            Ok(t[0].sub_scalar(0.7))
        }));
        out.push(OpCheck::new("rsub_scalar", "s=2", vec![g.randn(s)], |t| {
            Ok(t[0].rsub_scalar(2.0))
        }));
        out.push(OpCheck::new(
            "mul_scalar",
            "s=-1.5",
            vec![g.randn(s)],
            |t| Ok(t[0].mul_scalar(-1.5)),
        ));
        out.push(OpCheck::new("div_scalar", "s=4", vec![g.randn(s)], |t| {
            Ok(t[0].div_scalar(4.0))
        }));
        out.push(OpCheck::new("rdiv_scalar", "s=2", vec![g.away(s)], |t| {
            Ok(t[0].rdiv_scalar(2.0))
        }));
        for (e, detail) in [(2.5, "e=2.5"), (-1.5, "e=-1.5"), (0.5, "e=0.5")] {
            out.push(OpCheck::new(
                "pow_scalar",
                detail,
                vec![g.positive(s)],
                move |t| Ok(t[0].pow_scalar(e)),
            ));
        }
        out.push(OpCheck::new(
            "pow_scalar",
            "e=3, negative bases",
            vec![g.randn(s)],
            |t| Ok(t[0].pow_scalar(3.0)),
        ));
        out.push(OpCheck::new(
            "operators",
            "(2 - x) * 3 / y + 1 - -x",
            vec![g.randn(s), g.away(&[3])],
            |t| Ok((2.0 - &t[0]) * 3.0 / &t[1] + 1.0 - -&t[0]),
        ));
    }
    pub(crate) fn unary_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        #[derive(Clone, Copy)]
        enum Input {
            Normal,
            Positive,
            Spread,
        }
        let ops: [(&'static str, UnaryOp, Input); 14] = [
            ("neg", Tensor::neg, Input::Normal),
            ("exp", Tensor::exp, Input::Normal),
            ("log", Tensor::log, Input::Positive),
            ("sqrt", Tensor::sqrt, Input::Positive),
            ("abs", Tensor::abs, Input::Spread),
            ("sin", Tensor::sin, Input::Normal),
            ("cos", Tensor::cos, Input::Normal),
            ("relu", Tensor::relu, Input::Spread),
            ("sigmoid", Tensor::sigmoid, Input::Spread),
            ("tanh", Tensor::tanh, Input::Normal),
            ("gelu", Tensor::gelu, Input::Normal),
            ("gelu_tanh", Tensor::gelu_tanh, Input::Normal),
            ("silu", Tensor::silu, Input::Normal),
            ("softplus", Tensor::softplus, Input::Normal),
        ];
        let s = &[3, 4];
        let input = |g: &mut Gen, kind: Input, shape: &[usize]| match kind {
            Input::Normal => g.randn(shape),
            Input::Positive => g.positive(shape),
            Input::Spread => g.spread(&[shape]).remove(0),
        };
        for (name, op, kind) in ops {
            let x = input(g, kind, s);
            out.push(OpCheck::new(name, "", vec![x], move |t| Ok(op(&t[0]))));
        }
        // 0-d inputs through the same elementwise path.
        for (name, op, kind) in [
            ("exp", Tensor::exp as UnaryOp, Input::Normal),
            ("log", Tensor::log, Input::Positive),
        ] {
            let x = input(g, kind, &[]);
            out.push(OpCheck::new(name, "0-d", vec![x], move |t| Ok(op(&t[0]))));
        }
        // Softplus is linear above 20 (PyTorch's threshold): both branches.
        out.push(OpCheck::new(
            "softplus",
            "both sides of the threshold 20",
            vec![f64_tensor(vec![-3.0, 0.5, 19.5, 25.0, 30.0], &[5])],
            |t| Ok(t[0].softplus()),
        ));
        for alpha in [0.1, 0.5] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                "leaky_relu",
                format!("alpha={alpha}"),
                vec![x],
                move |t| Ok(t[0].leaky_relu(alpha)),
            ));
        }
        for alpha in [1.0, 0.5] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                "elu",
                format!("alpha={alpha}"),
                vec![x],
                move |t| Ok(t[0].elu(alpha)),
            ));
        }
        // Spread values are 0.1 + 0.2k (± 0.01): bounds at -0.4 and 0.6 are far
        // from all of them, and some values fall on each side of each bound.
        for (min, max) in [
            (Some(-0.4), Some(0.6)),
            (Some(-0.4), None),
            (None, Some(0.6)),
        ] {
            let x = g.spread(&[s]).remove(0);
            out.push(OpCheck::new(
                "clamp",
                format!("min={min:?}, max={max:?}"),
                vec![x],
                move |t| Ok(t[0].clamp(min, max)),
            ));
        }
    }
    /// The activations and math functions of issue 14, and clamp with tensor
    /// bounds and lerp. Inputs sit away from every kink: `spread` values scaled
    /// so that none is within 0.05 of 0, ±1, ±3 or 6.
    pub(crate) fn activation_checks(g: &mut Gen, out: &mut Vec<OpCheck>) {
        let s = &[3, 4];
        let scaled = |g: &mut Gen, k: f64| g.spread(&[s]).remove(0).mul_scalar(k);
        // Spread values are 0.1 + 0.2k (± 0.01): ×7 puts them on both sides of
        // 0 and 6, ×5 on both sides of ±3, ×1.5 on both sides of ±1.
        out.push(OpCheck::new("relu6", "", vec![scaled(g, 7.0)], |t| {
            Ok(t[0].relu6())
        }));
        out.push(OpCheck::new(
            "hardtanh",
            "[-1, 1]",
            vec![scaled(g, 1.5)],
            |t| t[0].hardtanh(-1.0, 1.0),
        ));
        out.push(OpCheck::new("hardswish", "", vec![scaled(g, 5.0)], |t| {
            Ok(t[0].hardswish())
        }));
        out.push(OpCheck::new("hardsigmoid", "", vec![scaled(g, 5.0)], |t| {
            Ok(t[0].hardsigmoid())
        }));
        out.push(OpCheck::new("softsign", "", vec![scaled(g, 3.0)], |t| {
            Ok(t[0].softsign())
        }));
        let smooth: [(&'static str, UnaryOp); 6] = [
            ("selu", Tensor::selu),
            ("mish", Tensor::mish),
            ("logsigmoid", Tensor::logsigmoid),
            ("erf", Tensor::erf),
            ("expm1", Tensor::expm1),
            ("square", Tensor::square),
        ];
        for (name, op) in smooth {
            let x = g.randn(s).mul_scalar(2.0);
            out.push(OpCheck::new(name, "", vec![x], move |t| Ok(op(&t[0]))));
        }
        let positive: [(&'static str, UnaryOp); 3] = [
            ("log1p", Tensor::log1p),
            ("log2", Tensor::log2),
            ("rsqrt", Tensor::rsqrt),
        ];
        for (name, op) in positive {
            let x = g.positive(s);
            out.push(OpCheck::new(name, "", vec![x], move |t| Ok(op(&t[0]))));
        }
        // tan stays well inside (−π/2, π/2).
        out.push(OpCheck::new(
            "tan",
            "",
            vec![g.randn(s).mul_scalar(0.4)],
            |t| Ok(t[0].tan()),
        ));
        for alpha in [1.0, 0.5, 2.0] {
            out.push(OpCheck::new(
                "celu",
                format!("alpha={alpha}"),
                vec![g.randn(s).mul_scalar(2.0)],
                move |t| t[0].celu(alpha),
            ));
        }
        // Both branches of softplus: βx on both sides of the threshold.
        for (beta, threshold) in [(2.0, 5.0), (0.5, 1.0)] {
            out.push(OpCheck::new(
                "softplus",
                format!("beta={beta}, threshold={threshold}"),
                vec![g.randn(s).mul_scalar(3.0)],
                move |t| Ok(t[0].softplus_with(beta, threshold)),
            ));
        }
        for dim in [0, 1, -1] {
            out.push(OpCheck::new(
                "softmin",
                format!("dim={dim}"),
                vec![g.randn(&[2, 3, 4])],
                move |t| t[0].softmin(dim),
            ));
        }
        // x below, inside and above its bounds, and bounds that cross (there
        // max wins); every value at least 0.05 from every other.
        let inputs = vec![
            f64_tensor(vec![-1.0, 0.3, 2.1, 0.55, -0.4, 1.4], &[2, 3]),
            f64_tensor(vec![-0.5, 0.1, 0.8], &[3]),
            f64_tensor(vec![1.0, 0.2], &[2, 1]),
        ];
        out.push(OpCheck::new(
            "clamp",
            "tensor bounds, broadcast",
            inputs,
            |t| t[0].clamp_tensor(Some(&t[1]), Some(&t[2])),
        ));
        out.push(OpCheck::new(
            "lerp",
            "broadcast weight",
            vec![g.randn(&[2, 3]), g.randn(&[3]), g.randn(&[2, 1])],
            |t| t[0].lerp(&t[1], &t[2]),
        ));
        out.push(OpCheck::new(
            "lerp",
            "scalar weight 0.7",
            vec![g.randn(&[2, 3]), g.randn(&[2, 3])],
            |t| t[0].lerp_scalar(&t[1], 0.7),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    /// GELU's gradient, Φ(x) + x·φ(x), against the closed form in f64 (libm's
    /// erfc), at the points where reading Φ back as y/x could go wrong: 0,
    /// tiny and subnormal x, and both tails.
    #[test]
    fn gelu_gradient_matches_the_closed_form_everywhere() {
        let xs = [
            0.0, 1e-30, -1e-30, 1e-40, -1e-40, 1e-3, -0.5, 1.0, 3.0, -3.0, -9.0, -12.0, 8.0, 30.0,
        ];
        let exact = |x: f64| {
            0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
                + x * (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
        };
        let x64 = Tensor::new(xs).unwrap().requires_grad(true);
        x64.gelu().sum().backward().unwrap();
        for (x, g) in xs.iter().zip(x64.grad().unwrap().to_vec::<f64>()) {
            assert!(
                (g - exact(*x)).abs() <= 1e-15 + 1e-13 * exact(*x).abs(),
                "f64 x={x}: {g}"
            );
        }
        let xs32 = xs.map(|x| x as f32);
        let x32 = Tensor::new(xs32).unwrap().requires_grad(true);
        x32.gelu().sum().backward().unwrap();
        for (x, g) in xs32.iter().zip(x32.grad().unwrap().to_vec::<f32>()) {
            let want = exact(*x as f64);
            assert!(
                (g as f64 - want).abs() <= 1e-30 + 2e-6 * want.abs(),
                "f32 x={x}: {g} vs {want}"
            );
        }
    }
}

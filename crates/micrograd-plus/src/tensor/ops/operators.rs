//! Operator syntax: `a + b`, `&a * 2.0`, `1.0 - &a`, `-a`, on owned tensors
//! and references alike. A shape error panics with the same message the
//! `Result` methods ([`Tensor::add`] ...) return, as slices and `ndarray` do.

use crate::tensor::Tensor;
use std::ops::{Add, Div, Mul, Neg, Sub};

macro_rules! tensor_tensor_ops {
    ($Trait:ident, $method:ident) => {
        impl $Trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(self, rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl $Trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $Trait::$method(self, &rhs)
            }
        }
        impl $Trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $Trait::$method(&self, rhs)
            }
        }
        impl $Trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $Trait::$method(&self, &rhs)
            }
        }
    };
}
tensor_tensor_ops!(Add, add);
tensor_tensor_ops!(Sub, sub);
tensor_tensor_ops!(Mul, mul);
tensor_tensor_ops!(Div, div);

/// `tensor op scalar` and `scalar op tensor`. Scalars are f64 only: with a
/// second scalar type, a bare literal like `2.0` would no longer infer.
macro_rules! tensor_scalar_ops {
    ($S:ty, $Trait:ident, $method:ident, |$t:ident, $s:ident| $ts:expr, |$s2:ident, $t2:ident| $st:expr) => {
        impl $Trait<$S> for &Tensor {
            type Output = Tensor;
            fn $method(self, $s: $S) -> Tensor {
                let ($t, $s) = (self, $s as f64);
                $ts
            }
        }
        impl $Trait<$S> for Tensor {
            type Output = Tensor;
            fn $method(self, s: $S) -> Tensor {
                $Trait::$method(&self, s)
            }
        }
        impl $Trait<&Tensor> for $S {
            type Output = Tensor;
            fn $method(self, $t2: &Tensor) -> Tensor {
                let $s2 = self as f64;
                $st
            }
        }
        impl $Trait<Tensor> for $S {
            type Output = Tensor;
            fn $method(self, t: Tensor) -> Tensor {
                $Trait::$method(self, &t)
            }
        }
    };
}
macro_rules! all_scalar_ops {
    ($S:ty) => {
        tensor_scalar_ops!($S, Add, add, |t, s| t.add_scalar(s), |s, t| t.add_scalar(s));
        tensor_scalar_ops!($S, Sub, sub, |t, s| t.sub_scalar(s), |s, t| t
            .rsub_scalar(s));
        tensor_scalar_ops!($S, Mul, mul, |t, s| t.mul_scalar(s), |s, t| t.mul_scalar(s));
        tensor_scalar_ops!($S, Div, div, |t, s| t.div_scalar(s), |s, t| t
            .rdiv_scalar(s));
    };
}
all_scalar_ops!(f64);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}
impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn operators_on_owned_references_and_scalars() {
        let a = Tensor::new([1.0f32, 2.0]).unwrap();
        let b = Tensor::new([3.0f32, 4.0]).unwrap();
        assert_eq!((&a + &b).to_vec::<f32>(), vec![4.0, 6.0]);
        assert_eq!((a.clone() - b.clone()).to_vec::<f32>(), vec![-2.0, -2.0]);
        assert_eq!((&a * 2.0).to_vec::<f32>(), vec![2.0, 4.0]);
        assert_eq!((2.0 - &a).to_vec::<f32>(), vec![1.0, 0.0]);
        assert_eq!((1.0 / &a).to_vec::<f32>(), vec![1.0, 0.5]);
        assert_eq!((-&a).to_vec::<f32>(), vec![-1.0, -2.0]);
    }

    #[test]
    #[should_panic(expected = "mul: cannot broadcast shapes [2] and [3]")]
    fn operator_shape_error_panics_with_the_message() {
        let _ = Tensor::zeros(&[2]) * Tensor::zeros(&[3]);
    }
}

//! What a field of a `#[derive(Module)]` struct may be, and how each kind is
//! registered: the rules behind the derive, in one place.
//!
//! | field type | registered as |
//! |---|---|
//! | a module (`Linear`, `Sequential`, your own derived struct, `Box<dyn Module>`) | its parameters and buffers under `field.name` |
//! | `Tensor` | a parameter named `field` (`#[module(buffer)]`: a buffer) |
//! | `Vec<T>`, `[T; N]` | element `i` under `field.i` (PyTorch's `ModuleList`) |
//! | `Option<T>` | as `T` when `Some`, nothing when `None` |
//! | numbers, `bool`, `String`, `()` | nothing: they are settings |
//! | anything else | a compile error naming the field's type; mark it `#[module(skip)]` |
//!
//! A field named `training` of type `bool` holds the train/eval flag; without
//! one, the struct is in training mode unless one of its module fields is in
//! evaluation mode (layers without a mode, such as `Linear`, always say
//! training: give the struct a `training` field to track its own).
//!
//! ```
//! use micrograd_plus::nn::{Linear, Module, ReLU};
//! use micrograd_plus::{Result, Tensor};
//!
//! #[derive(Module)]
//! struct Net {
//!     hidden: Vec<Linear>,
//!     act: ReLU,
//!     head: Linear,
//!     temperature: Tensor,          // a trained scalar
//!     #[module(buffer)]
//!     seen: Tensor,                 // saved, not trained
//!     width: usize,                 // a setting
//! }
//!
//! impl Net {
//!     fn forward(&self, x: &Tensor) -> Result<Tensor> {
//!         let mut x = x.clone();
//!         for layer in &self.hidden {
//!             x = self.act.forward(&layer.forward(&x)?)?;
//!         }
//!         self.head.forward(&x)?.div(&self.temperature)
//!     }
//! }
//!
//! let net = Net {
//!     hidden: vec![Linear::new(4, 8, true), Linear::new(8, 8, true)],
//!     act: ReLU,
//!     head: Linear::new(8, 3, false),
//!     temperature: Tensor::ones(&[1]).requires_grad(true),
//!     seen: Tensor::zeros(&[1]),
//!     width: 8,
//! };
//! let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["hidden.0.weight", "hidden.0.bias", "hidden.1.weight", "hidden.1.bias",
//!                    "head.weight", "temperature"]);
//! assert_eq!(net.named_buffers()[0].0, "seen");
//! assert_eq!(Module::forward(&net, &Tensor::zeros(&[2, 4])).unwrap().shape(), &[2, 3]);
//! assert!(net.describe().starts_with("Net(\n  (hidden): ModuleList(\n    (0): Linear(in_features=4"));
//! ```

use super::module::{visit_child, Module, Visitor};
use crate::tensor::Tensor;

/// A field of a derived module: how it registers parameters and buffers,
/// follows train/eval switches and prints itself. Every method does nothing
/// by default, which is what a setting (a number, a flag) needs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a module, a tensor, a container of them or a setting",
    label = "#[derive(Module)] cannot register this field",
    note = "mark the field `#[module(skip)]` if it holds no layers or parameters"
)]
pub trait ModuleField {
    /// Calls `f` with each parameter this field holds, named under `name`.
    fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
        let _ = (name, f);
    }

    /// Calls `f` with each buffer this field holds, named under `name`.
    fn visit_buffers(&self, name: &str, f: &mut Visitor<'_>) {
        let _ = (name, f);
    }

    /// Switches the modules this field holds to training or evaluation.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// False when a module this field holds is in evaluation mode.
    fn is_training(&self) -> bool {
        true
    }

    /// Appends `(name): description` lines for the modules this field holds.
    fn describe(&self, name: &str, lines: &mut Vec<String>) {
        let _ = (name, lines);
    }
}

impl<M: Module> ModuleField for M {
    fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
        visit_child(name, self, false, f);
    }

    fn visit_buffers(&self, name: &str, f: &mut Visitor<'_>) {
        visit_child(name, self, true, f);
    }

    fn set_training(&mut self, training: bool) {
        Module::set_training(self, training);
    }

    fn is_training(&self) -> bool {
        Module::is_training(self)
    }

    fn describe(&self, name: &str, lines: &mut Vec<String>) {
        lines.push(format!("({name}): {}", Module::describe(self)));
    }
}

/// A tensor field is a trained parameter (PyTorch's `nn.Parameter`).
impl ModuleField for Tensor {
    fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
        f(name, self);
    }
}

impl<T: ModuleField> ModuleField for Option<T> {
    fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
        if let Some(inner) = self {
            inner.visit_parameters(name, f);
        }
    }

    fn visit_buffers(&self, name: &str, f: &mut Visitor<'_>) {
        if let Some(inner) = self {
            inner.visit_buffers(name, f);
        }
    }

    fn set_training(&mut self, training: bool) {
        if let Some(inner) = self {
            inner.set_training(training);
        }
    }

    fn is_training(&self) -> bool {
        self.as_ref().is_none_or(ModuleField::is_training)
    }

    fn describe(&self, name: &str, lines: &mut Vec<String>) {
        if let Some(inner) = self {
            inner.describe(name, lines);
        }
    }
}

/// `Vec` and arrays are lists: they delegate to the slice impl below.
macro_rules! list_field {
    ([$($generics:tt)*] $list:ty) => {
        impl<$($generics)*> ModuleField for $list {
            fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
                self.as_slice().visit_parameters(name, f);
            }

            fn visit_buffers(&self, name: &str, f: &mut Visitor<'_>) {
                self.as_slice().visit_buffers(name, f);
            }

            fn set_training(&mut self, training: bool) {
                self.as_mut_slice().set_training(training);
            }

            fn is_training(&self) -> bool {
                self.as_slice().is_training()
            }

            fn describe(&self, name: &str, lines: &mut Vec<String>) {
                self.as_slice().describe(name, lines);
            }
        }
    };
}
list_field!([T: ModuleField] Vec<T>);
list_field!([T: ModuleField, const N: usize] [T; N]);

/// A list of fields: element `i` is named `name.i`, as in PyTorch's
/// `ModuleList`; `Vec` and arrays delegate here.
impl<T: ModuleField> ModuleField for [T] {
    fn visit_parameters(&self, name: &str, f: &mut Visitor<'_>) {
        for (i, item) in self.iter().enumerate() {
            item.visit_parameters(&format!("{name}.{i}"), f);
        }
    }

    fn visit_buffers(&self, name: &str, f: &mut Visitor<'_>) {
        for (i, item) in self.iter().enumerate() {
            item.visit_buffers(&format!("{name}.{i}"), f);
        }
    }

    fn set_training(&mut self, training: bool) {
        self.iter_mut().for_each(|item| item.set_training(training));
    }

    fn is_training(&self) -> bool {
        self.iter().all(ModuleField::is_training)
    }

    fn describe(&self, name: &str, lines: &mut Vec<String>) {
        let mut items = Vec::new();
        for (i, item) in self.iter().enumerate() {
            item.describe(&i.to_string(), &mut items);
        }
        if !items.is_empty() {
            lines.push(format!(
                "({name}): {}",
                describe_struct("ModuleList", &items)
            ));
        }
    }
}

/// Settings: fields that hold no tensors and register nothing.
macro_rules! settings {
    ($($ty:ty),*) => { $(impl ModuleField for $ty {})* };
}
settings!(bool, char, String, &'static str, ());
settings!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// PyTorch's multi-line module printout: `Name(\n  (a): ...\n  (b): ...\n)`,
/// with a child's own lines indented under it; `Name()` when it has none.
pub fn describe_struct(type_name: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return format!("{type_name}()");
    }
    let body: Vec<String> = lines
        .iter()
        .map(|line| format!("  {}", line.replace('\n', "\n  ")))
        .collect();
    format!("{type_name}(\n{}\n)", body.join("\n"))
}

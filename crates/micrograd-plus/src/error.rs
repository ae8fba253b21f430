//! The library's error type: every shape, argument and I/O problem is a value
//! that names the operation (or file) and what was wrong.

use thiserror::Error;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in MicroGrad+.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// Two shapes that cannot be broadcast together.
    #[error("{op}: cannot broadcast shapes {lhs:?} and {rhs:?}")]
    Broadcast {
        /// The operation that broadcast.
        op: &'static str,
        /// Left operand's shape.
        lhs: Vec<usize>,
        /// Right operand's shape.
        rhs: Vec<usize>,
    },
    /// Shapes that do not fit the operation (matmul inner dims, reshape size, ...).
    #[error("{op}: {msg}")]
    Shape {
        /// The operation that failed.
        op: &'static str,
        /// What was wrong, with the shapes or values involved.
        msg: String,
    },
    /// An index or dimension out of range.
    #[error("{op}: {msg}")]
    Index {
        /// The operation that failed.
        op: &'static str,
        /// What was wrong, with the shapes or values involved.
        msg: String,
    },
    /// An invalid argument (negative probability, empty list, ...).
    #[error("{op}: {msg}")]
    Argument {
        /// The operation that failed.
        op: &'static str,
        /// What was wrong, with the shapes or values involved.
        msg: String,
    },
    /// A problem in the backward pass (non-scalar output without a seed, ...).
    #[error("{0}")]
    Autograd(
        /// The full message.
        String,
    ),
    /// A training run that cannot go on: its loss diverged, or the doctor
    /// in strict mode stopped it.
    #[error("{0}")]
    Training(
        /// The full message.
        String,
    ),
    /// A file that cannot be read or written, or whose contents are wrong.
    #[error("{path}: {msg}")]
    File {
        /// The file's path as given.
        path: String,
        /// What was wrong with it.
        msg: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Shape {
            op,
            msg: msg.into(),
        }
    }
    /// Shorthand for [`Error::Index`].
    pub fn index(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Index {
            op,
            msg: msg.into(),
        }
    }
    /// Shorthand for [`Error::Argument`].
    pub fn argument(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Argument {
            op,
            msg: msg.into(),
        }
    }
}

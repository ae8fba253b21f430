//! Named workloads behind `mgp bench`.

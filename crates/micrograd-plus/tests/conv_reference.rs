//! conv2d, pooling and batch_norm: the gradient-check cases of the catalogue
//! for these ops, and values recorded from PyTorch.

use micrograd_plus::gradcheck::op_checks;

const OPS: [&str; 5] = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "batch_norm",
];

#[test]
fn gradient_checks_pass() {
    let mut failures = Vec::new();
    let mut count = 0;
    for check in op_checks().iter().filter(|c| OPS.contains(&c.op)) {
        count += 1;
        match check.run() {
            Ok(r) if r.passed && r.max_rel_error < 1e-6 => {}
            Ok(r) => failures.push(format!(
                "{}: {:e} {:?}",
                check.name(),
                r.max_rel_error,
                r.inputs
            )),
            Err(e) => failures.push(format!("{}: {e}", check.name())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{count} checks");
}

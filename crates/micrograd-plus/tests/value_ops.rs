//! Every scalar operation: forward value, gradient against central finite
//! differences, and gradient against its closed form.

use micrograd_plus::value::{Op, Value};

const H: f64 = 1e-6;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Builds `f` on a fresh leaf at `x`, checks the forward value against
/// `plain`, and d f/d x against finite differences of `plain` and against
/// `closed`.
fn check_unary(
    name: &str,
    x: f64,
    f: impl Fn(&Value) -> Value,
    plain: impl Fn(f64) -> f64,
    closed: f64,
) {
    let v = Value::new(x);
    let y = f(&v);
    y.backward();
    assert!(
        close(y.data(), plain(x), 1e-12),
        "{name}: forward {} vs {}",
        y.data(),
        plain(x)
    );
    let fd = (plain(x + H) - plain(x - H)) / (2.0 * H);
    assert!(
        close(v.grad(), fd, 1e-6),
        "{name}: grad {} vs finite difference {fd}",
        v.grad()
    );
    assert!(
        close(v.grad(), closed, 1e-12),
        "{name}: grad {} vs closed form {closed}",
        v.grad()
    );
}

/// Same for a function of two values.
fn check_binary(
    name: &str,
    (x, y): (f64, f64),
    f: impl Fn(&Value, &Value) -> Value,
    plain: impl Fn(f64, f64) -> f64,
    (gx, gy): (f64, f64),
) {
    let (a, b) = (Value::new(x), Value::new(y));
    let out = f(&a, &b);
    out.backward();
    assert!(close(out.data(), plain(x, y), 1e-12), "{name}: forward");
    let fdx = (plain(x + H, y) - plain(x - H, y)) / (2.0 * H);
    let fdy = (plain(x, y + H) - plain(x, y - H)) / (2.0 * H);
    assert!(
        close(a.grad(), fdx, 1e-6),
        "{name}: d/da {} vs fd {fdx}",
        a.grad()
    );
    assert!(
        close(b.grad(), fdy, 1e-6),
        "{name}: d/db {} vs fd {fdy}",
        b.grad()
    );
    assert!(
        close(a.grad(), gx, 1e-12),
        "{name}: d/da {} vs closed {gx}",
        a.grad()
    );
    assert!(
        close(b.grad(), gy, 1e-12),
        "{name}: d/db {} vs closed {gy}",
        b.grad()
    );
}

#[test]
fn binary_ops_all_operand_kinds() {
    let (x, y) = (1.7, -0.6);
    // Value op Value, &Value op &Value, and the mixed forms.
    check_binary("a+b", (x, y), |a, b| a + b, |a, b| a + b, (1.0, 1.0));
    check_binary(
        "a+b owned",
        (x, y),
        |a, b| a.clone() + b.clone(),
        |a, b| a + b,
        (1.0, 1.0),
    );
    check_binary("a-b", (x, y), |a, b| a - b, |a, b| a - b, (1.0, -1.0));
    check_binary(
        "a-b mixed",
        (x, y),
        |a, b| a.clone() - b,
        |a, b| a - b,
        (1.0, -1.0),
    );
    check_binary("a*b", (x, y), |a, b| a * b, |a, b| a * b, (y, x));
    check_binary(
        "a*b mixed",
        (x, y),
        |a, b| a * b.clone(),
        |a, b| a * b,
        (y, x),
    );
    check_binary(
        "a/b",
        (x, y),
        |a, b| a / b,
        |a, b| a / b,
        (1.0 / y, -x / (y * y)),
    );
    check_binary(
        "a/b owned",
        (x, y),
        |a, b| a.clone() / b.clone(),
        |a, b| a / b,
        (1.0 / y, -x / (y * y)),
    );
}

#[test]
fn scalar_ops_on_either_side() {
    let x = 0.8;
    check_unary("x+2", x, |v| v + 2.0, |x| x + 2.0, 1.0);
    check_unary("2+x", x, |v| 2.0 + v, |x| 2.0 + x, 1.0);
    check_unary("x-2", x, |v| v.clone() - 2.0, |x| x - 2.0, 1.0);
    check_unary("2-x", x, |v| 2.0 - v, |x| 2.0 - x, -1.0);
    check_unary("x*3", x, |v| v * 3.0, |x| x * 3.0, 3.0);
    check_unary("3*x", x, |v| 3.0 * v.clone(), |x| 3.0 * x, 3.0);
    check_unary("x/4", x, |v| v / 4.0, |x| x / 4.0, 0.25);
    check_unary("4/x", x, |v| 4.0 / v, |x| 4.0 / x, -4.0 / (x * x));
    check_unary("-x", x, |v| -v, |x| -x, -1.0);
    check_unary("-x owned", x, |v| -v.clone(), |x| -x, -1.0);
}

#[test]
fn unary_functions() {
    for x in [-1.3, -0.2, 0.4, 2.1] {
        check_unary("exp", x, |v| v.exp(), f64::exp, x.exp());
        check_unary("tanh", x, |v| v.tanh(), f64::tanh, 1.0 - x.tanh().powi(2));
        let s = 1.0 / (1.0 + (-x).exp());
        check_unary(
            "sigmoid",
            x,
            |v| v.sigmoid(),
            |x| 1.0 / (1.0 + (-x).exp()),
            s * (1.0 - s),
        );
        check_unary(
            "relu",
            x,
            |v| v.relu(),
            |x| x.max(0.0),
            if x > 0.0 { 1.0 } else { 0.0 },
        );
        check_unary("x^3", x, |v| v.pow(3.0), |x| x.powi(3), 3.0 * x * x);
        check_unary(
            "x^-2",
            x,
            |v| v.pow(-2.0),
            |x| x.powi(-2),
            -2.0 * x.powi(-3),
        );
    }
    for x in [0.3, 1.0, 5.5] {
        check_unary("ln", x, |v| v.ln(), f64::ln, 1.0 / x);
        check_unary("x^0.5", x, |v| v.pow(0.5), f64::sqrt, 0.5 / x.sqrt());
    }
}

#[test]
fn sigmoid_is_stable_for_large_inputs() {
    for x in [-800.0, 800.0] {
        let v = Value::new(x);
        let s = v.sigmoid();
        s.backward();
        assert!(s.data().is_finite() && v.grad().is_finite());
        assert!(s.data() == 0.0 || s.data() == 1.0);
    }
}

#[test]
fn compound_assignment() {
    let x = Value::new(2.0);
    let mut y = x.clone();
    y += &x; // 2x
    y *= 3.0; // 6x
    y -= 1.0; // 6x - 1
    y /= &x; // 6 - 1/x
    y += Value::new(1.0);
    y.backward();
    assert!(close(y.data(), 7.0 - 0.5, 1e-12));
    assert!(close(x.grad(), 1.0 / 4.0, 1e-12)); // d(6 - 1/x)/dx = 1/x^2
}

#[test]
fn sum_of_values() {
    let xs: Vec<Value> = (1..=4).map(|i| Value::new(i as f64)).collect();
    let total: Value = xs.iter().sum();
    total.backward();
    assert_eq!(total.data(), 10.0);
    assert!(xs.iter().all(|x| x.grad() == 1.0));
    let empty: Value = Vec::<Value>::new().into_iter().sum();
    assert_eq!((empty.data(), empty.op()), (0.0, Op::Leaf));
}

/// micrograd's test_engine.py `test_sanity_check`, checked against the
/// closed form (PyTorch gives the same numbers).
#[test]
fn micrograd_sanity_check() {
    let x = Value::new(-4.0);
    let z = 2.0 * &x + 2.0 + &x;
    let q = z.relu() + &z * &x;
    let h = (&z * &z).relu();
    let y = &h + &q + &q * &x;
    y.backward();
    // z = 3x + 2 = -10; q = 0 + z x = 40; h = 100; y = h + q + q x = -20.
    assert_eq!(y.data(), -20.0);
    // dh/dx = 2z * 3 = -60; dq/dx = 3x + z = -22;
    // d(qx)/dx = x dq/dx + q = 88 + 40 = 128; sum = 46.
    assert_eq!(x.grad(), 46.0);
}

/// micrograd's test_engine.py `test_more_ops`, with the values its README
/// prints.
#[test]
fn micrograd_more_ops() {
    let a = Value::new(-4.0);
    let b = Value::new(2.0);
    let mut c = &a + &b;
    let mut d = &a * &b + b.pow(3.0);
    let t = &c + 1.0;
    c += t;
    let t = 1.0 + &c + (-&a);
    c += t;
    let t = &d * 2.0 + (&b + &a).relu();
    d += t;
    let t = 3.0 * &d + (&b - &a).relu();
    d += t;
    let e = &c - &d;
    let f = e.pow(2.0);
    let mut g = &f / 2.0;
    g += 10.0 / &f;
    g.backward();
    assert!((g.data() - 24.70408163265306).abs() < 1e-9);
    assert!((a.grad() - 138.83381924198252).abs() < 1e-9);
    assert!((b.grad() - 645.5772594752186).abs() < 1e-9);
}

#[test]
fn op_table_matches_closed_forms() {
    assert_eq!(Op::Add.forward(2.0, 3.0), (5.0, 1.0, 1.0));
    assert_eq!(Op::Sub.forward(2.0, 3.0), (-1.0, 1.0, -1.0));
    assert_eq!(Op::Div.forward(3.0, 2.0), (1.5, 0.5, -0.75));
    assert_eq!(Op::Relu.forward(-1.0, 0.0), (0.0, 0.0, 0.0));
    assert_eq!(Op::Neg.arity(), 1);
    assert_eq!(Op::Relu.label(), "ReLU");
    assert_eq!(Op::AddConst(-2.0).label(), "-2");
}

#[test]
fn debug_and_display_like_micrograd() {
    let v = Value::new(2.0);
    assert_eq!(format!("{v:?}"), "Value(data=2.0, grad=0.0)");
    assert_eq!(v.to_string(), "Value(data=2.0, grad=0.0)");
    assert_eq!(Value::from(1.5).data(), 1.5);
}

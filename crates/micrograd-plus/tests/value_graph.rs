//! Graph mechanics: gradient accumulation, zero_grad, very deep graphs,
//! memory reuse and DOT export.

use micrograd_plus::value::dot::{to_dot, write_dot};
use micrograd_plus::value::{live_nodes, Op, Value};

#[test]
fn node_used_twice_accumulates() {
    let a = Value::new(3.0);
    let b = &a + &a;
    b.backward();
    assert_eq!(a.grad(), 2.0);

    let x = Value::new(3.0);
    let y = &x * &x; // both operands are the same node
    y.backward();
    assert_eq!(x.grad(), 6.0);

    // Diamond: x feeds two branches that meet again.
    let x = Value::new(0.5);
    let u = x.exp();
    let v = x.tanh();
    let w = &u * &v;
    w.backward();
    let expect = 0.5f64.exp() * 0.5f64.tanh() + 0.5f64.exp() * (1.0 - 0.5f64.tanh().powi(2));
    assert!((x.grad() - expect).abs() < 1e-12);
}

#[test]
fn backward_accumulates_until_zero_grad() {
    let x = Value::new(2.0);
    let y = &x * 5.0;
    y.backward();
    y.backward();
    assert_eq!(x.grad(), 10.0); // as in micrograd, grads add up
    x.zero_grad();
    assert_eq!(x.grad(), 0.0);
    y.backward();
    assert_eq!(x.grad(), 5.0);

    y.zero_grad_graph();
    assert_eq!((x.grad(), y.grad()), (0.0, 0.0));
}

#[test]
fn children_op_and_topological_order() {
    let a = Value::new(1.0);
    let b = Value::new(2.0);
    let c = &a * &b;
    let d = c.relu() + 1.0;
    assert_eq!(d.op(), Op::AddConst(1.0));
    assert_eq!(c.op(), Op::Mul);
    let kids = c.children();
    assert!(kids[0].same_node(&a) && kids[1].same_node(&b));
    assert!(a.children().is_empty());

    let order = d.topological_order();
    assert_eq!(order.len(), 5);
    let pos = |v: &Value| order.iter().position(|o| o.same_node(v)).expect("in graph");
    assert!(pos(&a) < pos(&c) && pos(&b) < pos(&c) && pos(&c) < pos(&d));
    assert!(order.last().expect("non-empty").same_node(&d));
}

const DEEP: usize = 1_000_000;

/// A million-deep chain: backward must not recurse, and neither may the
/// drop that frees it. Runs on a thread with a small stack to make sure.
#[test]
fn million_deep_chain_backward_and_drop() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let x = Value::new(0.0);
            let mut y = x.clone();
            for _ in 0..DEEP {
                y += 1.0;
            }
            y.backward();
            assert_eq!(y.data(), DEEP as f64);
            assert_eq!(x.grad(), 1.0);
            assert_eq!(live_nodes(), DEEP + 1);
            drop(y);
            assert_eq!(live_nodes(), 1);
        })
        .expect("spawn")
        .join()
        .expect("deep chain thread panicked");
}

/// The same chain built in recycled slots whose order runs against the
/// graph, which forces the general depth-first topological sort.
#[test]
fn million_deep_chain_in_recycled_slots() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let x = Value::new(1.0);
            let holes: Vec<Value> = (0..DEEP).map(|_| Value::new(0.0)).collect();
            let guard = Value::new(0.0); // keeps the holes from being cut off the end
            drop(holes); // dropped first to last: reused last to first
            let mut y = x.clone();
            for _ in 0..DEEP {
                y *= 1.0;
            }
            // Every node now sits below its child.
            assert!(y.id() < y.children()[0].id());
            y.backward();
            assert_eq!(x.grad(), 1.0);
            assert_eq!(y.topological_order().len(), DEEP + 1);
            drop(y);
            drop(guard);
            assert_eq!(live_nodes(), 1);
        })
        .expect("spawn")
        .join()
        .expect("deep chain thread panicked");
}

#[test]
fn graphs_are_freed_and_slots_reused() {
    std::thread::spawn(|| {
        let w = Value::new(0.5);
        let base = live_nodes();
        for _ in 0..3 {
            let loss = (&w * 2.0).tanh().pow(2.0);
            loss.backward();
            assert_eq!(live_nodes(), base + 3);
        }
        assert_eq!(live_nodes(), base);
        // A graph freed below a live value leaves holes that get reused.
        let tmp = (&w * 3.0).exp();
        let keep = Value::new(1.0);
        drop(tmp);
        let again = (&w * 3.0).exp();
        assert!(again.id() < keep.id());
        assert_eq!(live_nodes(), base + 3);
    })
    .join()
    .expect("thread panicked");
}

/// A small graph whose leaf sits below a large unrelated live graph: the
/// creation-order sweep would scan everything in between, so the sort
/// falls back to the DFS; the answer must be the same.
#[test]
fn small_graph_over_large_unrelated_graph() {
    let x = Value::new(3.0);
    let unrelated: Vec<Value> = (0..20_000).map(|i| Value::new(i as f64).exp()).collect();
    let y = (&x * 2.0).relu() * &x; // 2x^2
    y.backward();
    assert_eq!(x.grad(), 12.0);
    assert_eq!(y.topological_order().len(), 4);
    assert!(unrelated.iter().all(|u| u.grad() == 0.0));
}

/// A graph split in two parts with a large unrelated graph in between: the
/// one-pass backward gives up halfway and finishes depth-first.
#[test]
fn split_graph_backward_matches_finite_differences() {
    let f = |x: f64| 2.0 * ((x.tanh() * x).exp() + x.tanh()) + x.tanh() * x;
    let x0 = 0.7;
    let x = Value::new(x0);
    let a = x.tanh();
    let b = &a * &x;
    let c = b.exp() + &a;
    let unrelated: Vec<Value> = (0..20_000).map(|i| Value::new(i as f64) * 2.0).collect();
    let y = &c * 2.0 + &b;
    y.backward();
    let h = 1e-6;
    let fd = (f(x0 + h) - f(x0 - h)) / (2.0 * h);
    assert!((y.data() - f(x0)).abs() < 1e-12);
    assert!((x.grad() - fd).abs() < 1e-6, "{} vs {fd}", x.grad());
    assert!((c.grad() - 2.0).abs() < 1e-12);
    assert!(unrelated.iter().all(|u| u.grad() == 0.0));
}

#[test]
fn set_data_and_clone_share_the_node() {
    let p = Value::new(1.0);
    let q = p.clone();
    q.set_data(4.0);
    q.set_grad(2.0);
    assert_eq!((p.data(), p.grad()), (4.0, 2.0));
    assert!(p.same_node(&q));
    assert_eq!(p.id(), q.id());
}

#[test]
fn dot_export_lists_nodes_and_ops() {
    let a = Value::new(2.0);
    let b = Value::new(-3.0);
    let c = (&a * &b + 10.0).tanh();
    c.backward();
    let dot = to_dot(&c);
    assert!(dot.starts_with("digraph"));
    assert!(dot.trim_end().ends_with('}'));
    // One record per value (a, b, a*b, +10, tanh), one op node per result.
    assert_eq!(dot.matches("shape=record").count(), 5);
    for op in ["\"*\"", "\"+10\"", "\"tanh\""] {
        assert!(
            dot.contains(&format!("label={op}")),
            "missing op {op} in\n{dot}"
        );
    }
    assert!(dot.contains("data 2.0000") && dot.contains("data -3.0000"));
    // d tanh(4)/d a = b (1 - tanh(4)^2)
    let ga = -3.0 * (1.0 - 4f64.tanh().powi(2));
    assert!(dot.contains(&format!("grad {ga:.4}")));
    assert!(dot.contains(&format!("n{}op -> n{}", c.id(), c.id())));
    assert!(dot.contains(&format!(
        "n{} -> n{}op",
        a.id(),
        (c.children()[0]).children()[0].id()
    )));
    assert_eq!(c.to_dot(), dot);

    let dir = std::env::temp_dir().join(format!("mgp_value_dot_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("g.dot");
    write_dot(&c, &path).expect("write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), dot);
    assert!(write_dot(&c, dir.join("missing").join("g.dot")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

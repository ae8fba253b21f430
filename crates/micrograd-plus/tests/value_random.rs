//! Random graphs built and dropped in random order, so that nodes land in
//! recycled slots in every possible arrangement: gradients must match an
//! independent forward-mode computation, and every node must be freed.

use std::collections::HashMap;
use std::rc::Rc;

use micrograd_plus::value::{live_nodes, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The same computation as a plain expression DAG.
enum Expr {
    Leaf(usize, f64),
    Tanh(Rc<Expr>),
    Sigmoid(Rc<Expr>),
    Affine(Rc<Expr>),
    Add(Rc<Expr>, Rc<Expr>),
    Sub(Rc<Expr>, Rc<Expr>),
    Mul(Rc<Expr>, Rc<Expr>),
}

/// (value, d value / d leaf) by dual numbers, memoised per node.
fn dual(e: &Rc<Expr>, leaf: usize, memo: &mut HashMap<*const Expr, (f64, f64)>) -> (f64, f64) {
    if let Some(&r) = memo.get(&Rc::as_ptr(e)) {
        return r;
    }
    let r = match &**e {
        Expr::Leaf(id, v) => (*v, if *id == leaf { 1.0 } else { 0.0 }),
        Expr::Tanh(a) => {
            let (v, d) = dual(a, leaf, memo);
            let t = v.tanh();
            (t, (1.0 - t * t) * d)
        }
        Expr::Sigmoid(a) => {
            let (v, d) = dual(a, leaf, memo);
            let s = 1.0 / (1.0 + (-v).exp());
            (s, s * (1.0 - s) * d)
        }
        Expr::Affine(a) => {
            let (v, d) = dual(a, leaf, memo);
            (v * 0.5 + 0.1, 0.5 * d)
        }
        Expr::Add(a, b) => {
            let ((va, da), (vb, db)) = (dual(a, leaf, memo), dual(b, leaf, memo));
            (va + vb, da + db)
        }
        Expr::Sub(a, b) => {
            let ((va, da), (vb, db)) = (dual(a, leaf, memo), dual(b, leaf, memo));
            (va - vb, da - db)
        }
        Expr::Mul(a, b) => {
            let ((va, da), (vb, db)) = (dual(a, leaf, memo), dual(b, leaf, memo));
            (va * vb, da * vb + va * db)
        }
    };
    memo.insert(Rc::as_ptr(e), r);
    r
}

/// `recycle`: drop handles at random, so slots get reused in any order.
/// Without it nodes stay in creation order (the one-pass backward), and
/// blocks of unrelated nodes in between make that pass give up halfway.
fn run(seed: u64, recycle: bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut leaves: Vec<(usize, Value)> = Vec::new();
    let mut pool: Vec<(Value, Rc<Expr>)> = Vec::new();
    let mut next_leaf = 0usize;
    let mut ballast: Vec<Value> = Vec::new();
    for round in 0..3000 {
        let choice = rng.gen_range(0..100);
        if pool.len() < 2 || choice < 15 {
            let v = rng.gen_range(-1.0..1.0);
            let value = Value::new(v);
            leaves.push((next_leaf, value.clone()));
            pool.push((value, Rc::new(Expr::Leaf(next_leaf, v))));
            next_leaf += 1;
        } else if !recycle && choice < 30 {
            if rng.gen_bool(0.05) {
                ballast.extend((0..3000).map(|i| Value::new(i as f64).exp()));
            }
        } else if choice < 30 {
            // Drop a random handle: frees whatever only it kept alive.
            let k = rng.gen_range(0..pool.len());
            pool.swap_remove(k);
            if !leaves.is_empty() && rng.gen_bool(0.3) {
                let k = rng.gen_range(0..leaves.len());
                leaves.swap_remove(k);
            }
        } else if choice < 80 {
            let (a, ea) = pool[rng.gen_range(0..pool.len())].clone();
            let (b, eb) = pool[rng.gen_range(0..pool.len())].clone();
            let (v, e) = match rng.gen_range(0..6) {
                0 => ((&a + &b).tanh(), Expr::Tanh(Rc::new(Expr::Add(ea, eb)))),
                1 => ((a - b).tanh(), Expr::Tanh(Rc::new(Expr::Sub(ea, eb)))),
                2 => (&a * &b, Expr::Mul(ea, eb)),
                3 => (a.sigmoid(), Expr::Sigmoid(ea)),
                4 => (a * 0.5 + 0.1, Expr::Affine(ea)),
                _ => (&a * &a, Expr::Mul(ea.clone(), ea)),
            };
            pool.push((v, Rc::new(e)));
        } else {
            // Backward from a random value; compare every live leaf.
            let (root, expr) = pool[rng.gen_range(0..pool.len())].clone();
            root.zero_grad_graph();
            for (_, leaf) in &leaves {
                leaf.zero_grad();
            }
            root.backward();
            let mut memo = HashMap::new();
            for (id, leaf) in &leaves {
                memo.clear();
                let (value, grad) = dual(&expr, *id, &mut memo);
                assert!(
                    (root.data() - value).abs() < 1e-12,
                    "seed {seed} round {round}: value"
                );
                assert!(
                    (leaf.grad() - grad).abs() <= 1e-9 * (1.0 + grad.abs()),
                    "seed {seed} round {round}: leaf {id} grad {} vs {grad}",
                    leaf.grad()
                );
            }
            assert_eq!(
                root.topological_order().last().map(|v| v.id()),
                Some(root.id())
            );
        }
    }
    drop(pool);
    drop(leaves);
    drop(ballast);
    assert_eq!(live_nodes(), 0, "seed {seed}: nodes leaked");
}

#[test]
fn random_graphs_in_recycled_slots() {
    // Each seed on a fresh thread: its own, initially empty tape.
    for seed in 0..8 {
        let recycle = seed % 2 == 0;
        std::thread::spawn(move || run(seed, recycle))
            .join()
            .expect("random graph run panicked");
    }
}

/// `op(a, b)` on the fast engine, through its public methods and operators.
fn fast_apply(op: micrograd_plus::value::Op, a: &Value, b: &Value) -> Value {
    use micrograd_plus::value::Op;
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::Neg => -a,
        Op::AddConst(c) => a + c,
        Op::MulConst(c) => a * c,
        Op::Pow(k) => a.pow(k),
        Op::Exp => a.exp(),
        Op::Ln => a.ln(),
        Op::Tanh => a.tanh(),
        Op::Relu => a.relu(),
        Op::Sigmoid => a.sigmoid(),
        Op::Leaf => unreachable!("leaves are made with new"),
    }
}

/// Equal, or both NaN, or within 1e-12 relative: the two engines sum a
/// node's gradient contributions in different orders.
fn same_number(x: f64, y: f64) -> bool {
    x == y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
}

#[test]
fn the_fast_engine_matches_the_plain_engine_on_random_graphs() {
    use micrograd_plus::value::{Op, PlainValue};
    let ops = [
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Neg,
        Op::AddConst(0.5),
        Op::MulConst(-1.5),
        Op::Pow(2.0),
        Op::Pow(-1.0),
        Op::Exp,
        Op::Ln,
        Op::Tanh,
        Op::Relu,
        Op::Sigmoid,
    ];
    let mut rng = StdRng::seed_from_u64(17);
    for graph in 0..200 {
        let leaves = rng.gen_range(1..5);
        let mut fast: Vec<Value> = Vec::new();
        let mut plain: Vec<PlainValue> = Vec::new();
        for _ in 0..leaves {
            let x = rng.gen_range(-2.0..2.0);
            fast.push(Value::new(x));
            plain.push(PlainValue::new(x));
        }
        for _ in 0..rng.gen_range(1..60) {
            let op = ops[rng.gen_range(0..ops.len())];
            // Inputs from anywhere below, so nodes are shared by many parents.
            let (i, j) = (rng.gen_range(0..fast.len()), rng.gen_range(0..fast.len()));
            // Keep values in a range where exp and powers stay finite.
            let op = match op {
                Op::Exp | Op::Pow(_) if fast[i].data().abs() > 5.0 => Op::Tanh,
                other => other,
            };
            fast.push(fast_apply(op, &fast[i], &fast[j]));
            plain.push(PlainValue::apply(op, &plain[i], Some(&plain[j])));
        }
        fast.last().unwrap().backward();
        plain.last().unwrap().backward();
        for (k, (f, p)) in fast.iter().zip(&plain).enumerate() {
            assert_eq!(f.op(), p.op(), "graph {graph}, node {k}");
            assert!(
                same_number(f.data(), p.data()),
                "graph {graph}, node {k}: data {} vs {}",
                f.data(),
                p.data()
            );
            assert!(
                same_number(f.grad(), p.grad()),
                "graph {graph}, node {k}: grad {} vs {}",
                f.grad(),
                p.grad()
            );
        }
    }
}

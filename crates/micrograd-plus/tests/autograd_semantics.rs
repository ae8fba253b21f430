//! PyTorch's autograd semantics, checked with real values: when gradients
//! exist and how they accumulate, how backward is seeded and how it fails,
//! detach / no_grad, the errors shape mistakes produce, robustness (a
//! million-op graph, flat memory over a training loop), threads, dtypes, and
//! the creation functions.

use micrograd_plus::tensor::ops::conv_transpose::ConvTranspose;
use micrograd_plus::tensor::{is_grad_enabled, NoGradGuard, Storage, WeakTensor};
use micrograd_plus::{no_grad, DType, Error, Result, Tensor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

fn t32<const N: usize>(v: [f32; N]) -> Tensor {
    Tensor::new(v).unwrap()
}

fn t64<const N: usize>(v: [f64; N]) -> Tensor {
    Tensor::new(v).unwrap()
}

fn grad_of(t: &Tensor) -> Vec<f64> {
    t.grad().expect("gradient should be set").to_vec::<f64>()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w} (all: {got:?} vs {want:?})"
        );
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn err_text(r: Result<Tensor>) -> String {
    r.expect_err("expected an error").to_string()
}

/// The memory-hungry test (a million-node graph) and the memory measurement
/// run one at a time.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The system allocator, counting the bytes each thread holds (allocated
/// minus freed on that thread). Process-wide RSS is useless for this: tests
/// run in parallel, and one that panics on purpose makes std load and keep
/// tens of MB of debug info for the backtrace. A single-threaded loop that
/// frees everything it allocates leaves its thread's count unchanged.
struct CountingAlloc;

thread_local! {
    static THREAD_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: never fail inside the allocator, even during thread exit.
    let _ = THREAD_BYTES.try_with(|c| c.set(c.get() + delta));
}

/// Bytes allocated and not yet freed by the current thread.
fn thread_bytes() -> isize {
    THREAD_BYTES.with(Cell::get)
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            let p = System.alloc(layout);
            if !p.is_null() {
                count(layout.size() as isize);
            }
            p
        }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            let p = System.alloc_zeroed(layout);
            if !p.is_null() {
                count(layout.size() as isize);
            }
            p
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe {
            System.dealloc(ptr, layout);
            count(-(layout.size() as isize));
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            let p = System.realloc(ptr, layout, new_size);
            if !p.is_null() {
                count(new_size as isize - layout.size() as isize);
            }
            p
        }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------------------
// when gradients exist, and how they add up
// ---------------------------------------------------------------------------

#[test]
fn grad_is_none_until_backward_reaches_the_tensor() {
    let x = t64([1.0, 2.0, 3.0]).requires_grad(true);
    let unrelated = t64([5.0]).requires_grad(true);
    let constant = t64([10.0, 20.0, 30.0]); // in the graph, but no requires_grad
    assert!(x.grad().is_none());

    let hidden = x.mul(&constant).unwrap();
    let y = (&hidden * &x).sum();
    let _other = &unrelated * 2.0; // recorded, never backpropagated
    assert!(
        x.grad().is_none(),
        "forward alone must not create gradients"
    );

    y.backward().unwrap();
    // y = Σ c·x², dy/dx = 2·c·x
    assert_eq!(grad_of(&x), vec![20.0, 80.0, 180.0]);
    assert!(unrelated.grad().is_none(), "not reached by backward");
    assert!(constant.grad().is_none(), "does not require grad");
    // Like PyTorch without retain_grad(): non-leaf tensors keep no .grad.
    assert!(hidden.grad().is_none());
    assert!(y.grad().is_none());
}

#[test]
fn gradients_accumulate_over_backward_calls_until_zero_grad() {
    let x = t32([1.0, 2.0, 3.0]).requires_grad(true);
    (&x * 3.0).sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![3.0, 3.0, 3.0]);
    // A second, different graph: d/dx Σx² = 2x is added to what is there.
    (&x * &x).sum().backward().unwrap();
    assert_eq!(grad_of(&x), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.grad().unwrap().dtype(), DType::F32);

    x.zero_grad();
    assert!(x.grad().is_none());
    (&x * 3.0).sum().backward().unwrap();
    assert_eq!(
        grad_of(&x),
        vec![3.0, 3.0, 3.0],
        "starts afresh after zero_grad"
    );
}

#[test]
fn a_tensor_used_twice_gets_the_sum_of_both_paths() {
    let x = t64([0.5, -1.0, 2.0]).requires_grad(true);
    // y = Σ (x·eˣ + x): three uses of x.
    let y = (&(&x * &x.exp()) + &x).sum();
    y.backward().unwrap();
    let want: Vec<f64> = [0.5f64, -1.0, 2.0]
        .iter()
        .map(|&v| v.exp() + v * v.exp() + 1.0)
        .collect();
    assert_close(&grad_of(&x), &want, 1e-14);

    // The same tensor as both operands of one op: d(x·x)/dx = 2x.
    let z = t64([3.0, -4.0]).requires_grad(true);
    z.mul(&z).unwrap().sum().backward().unwrap();
    assert_eq!(grad_of(&z), vec![6.0, -8.0]);

    // Two clones of a handle are the same tensor.
    let w = t64([1.5]).requires_grad(true);
    let w2 = w.clone();
    (&(&w * 2.0) + &(&w2 * 5.0)).sum().backward().unwrap();
    assert_eq!(grad_of(&w), vec![7.0]);
    assert_eq!(grad_of(&w2), vec![7.0]);
}

/// Add hands its output's gradient to both operands without a copy (and
/// subtraction to its first). Every gradient must still be a buffer of its
/// own: editing one in place, or accumulating into it, changes no other.
#[test]
fn gradients_an_add_passes_on_stay_independent() {
    let seed = t64([1.0, -2.0, 3.0]);
    let (a, b) = (
        t64([0.5, 1.5, -1.0]).requires_grad(true),
        t64([2.0, 0.0, 4.0]).requires_grad(true),
    );
    let z = a.add(&b).unwrap();
    z.retain_grad();
    z.backward_retain_graph(Some(&seed)).unwrap();
    for t in [&a, &b, &z] {
        assert_eq!(grad_of(t), vec![1.0, -2.0, 3.0]);
    }
    // An optimizer-style edit of one gradient in place.
    a.grad()
        .unwrap()
        .update::<f64, _>(|v| v.iter_mut().for_each(|x| *x *= 10.0))
        .unwrap();
    assert_eq!(grad_of(&a), vec![10.0, -20.0, 30.0]);
    assert_eq!(grad_of(&b), vec![1.0, -2.0, 3.0]);
    assert_eq!(grad_of(&z), vec![1.0, -2.0, 3.0]);
    assert_eq!(seed.to_vec::<f64>(), vec![1.0, -2.0, 3.0]);
    // A second backward adds into each gradient once.
    z.backward_with(&seed).unwrap();
    assert_eq!(grad_of(&a), vec![11.0, -22.0, 33.0]);
    assert_eq!(grad_of(&b), vec![2.0, -4.0, 6.0]);
    assert_eq!(grad_of(&z), vec![2.0, -4.0, 6.0]);

    // a - b: a gets the gradient itself, b its negation.
    let (a, b) = (
        t64([1.0, 2.0]).requires_grad(true),
        t64([3.0, 5.0]).requires_grad(true),
    );
    a.sub(&b).unwrap().backward_with(&t64([4.0, -1.0])).unwrap();
    assert_eq!(grad_of(&a), vec![4.0, -1.0]);
    assert_eq!(grad_of(&b), vec![-4.0, 1.0]);

    // A residual block, h = x + f(x), twice in a row, and x + x: the paths
    // through the shared gradients still sum.
    let x = t64([0.5, -1.0]).requires_grad(true);
    let h = x.add(&(&x * 3.0)).unwrap();
    let out = h.add(&(&h * 2.0)).unwrap().add(&x).unwrap();
    out.sum().backward().unwrap();
    // out = 3h + x = 12x + x.
    assert_eq!(grad_of(&x), vec![13.0, 13.0]);
    let y = t64([2.0]).requires_grad(true);
    y.add(&y).unwrap().sum().backward().unwrap();
    assert_eq!(grad_of(&y), vec![2.0]);
}

#[test]
fn a_broadcast_operand_gets_a_gradient_of_its_own_shape() {
    let a = Tensor::new([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]])
        .unwrap()
        .requires_grad(true);
    let b = t64([10.0, 20.0, 30.0]).requires_grad(true);
    let upstream = Tensor::new([[1.0f64, -2.0, 0.5], [3.0, 4.0, -1.5]]).unwrap();

    let y = a.add(&b).unwrap();
    assert_eq!(y.shape(), &[2, 3]);
    y.backward_with(&upstream).unwrap();
    let bg = b.grad().unwrap();
    assert_eq!(bg.shape(), &[3]);
    // Column sums of the upstream gradient.
    assert_eq!(bg.to_vec::<f64>(), vec![4.0, 2.0, -1.0]);
    assert_eq!(a.grad().unwrap().shape(), &[2, 3]);
    assert_eq!(grad_of(&a), upstream.to_vec::<f64>());

    // Multiplication: b's gradient is Σ_rows upstream·a; a's is upstream·b.
    a.zero_grad();
    b.zero_grad();
    a.mul(&b).unwrap().backward_with(&upstream).unwrap();
    assert_eq!(grad_of(&b), vec![1.0 + 12.0, -4.0 + 20.0, 1.5 - 9.0]);
    assert_eq!(grad_of(&a), vec![10.0, -40.0, 15.0, 30.0, 80.0, -45.0]);

    // A 0-d operand gets a 0-d gradient: the sum of everything.
    let s = Tensor::scalar(2.0f64).requires_grad(true);
    a.mul(&s).unwrap().backward_with(&upstream).unwrap();
    let sg = s.grad().unwrap();
    assert_eq!(sg.shape(), &[] as &[usize]);
    let want: f64 = [1.0, -4.0, 1.5, 12.0, 20.0, -9.0].iter().sum();
    assert_eq!(sg.item().unwrap(), want);

    // A (2,1) column against a (1,3) row: both are summed back.
    let col = Tensor::new([[1.0f64], [2.0]]).unwrap().requires_grad(true);
    let row = Tensor::new([[1.0f64, 1.0, 1.0]])
        .unwrap()
        .requires_grad(true);
    col.add(&row).unwrap().backward_with(&upstream).unwrap();
    assert_eq!(col.grad().unwrap().shape(), &[2, 1]);
    assert_eq!(grad_of(&col), vec![-0.5, 5.5]);
    assert_eq!(row.grad().unwrap().shape(), &[1, 3]);
    assert_eq!(grad_of(&row), vec![4.0, 2.0, -1.0]);
}

// ---------------------------------------------------------------------------
// seeding backward, and its errors
// ---------------------------------------------------------------------------

#[test]
fn backward_on_a_non_scalar_asks_for_a_gradient() {
    let x = Tensor::ones(&[2, 3]).requires_grad(true);
    let y = &x * 2.0;
    let err = y.backward().unwrap_err();
    assert!(matches!(err, Error::Autograd(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("Gradient must be specified for non-scalar outputs"),
        "{msg}"
    );
    assert!(
        msg.contains("[2, 3]"),
        "message should name the shape: {msg}"
    );
    assert!(
        msg.contains("sum()") || msg.contains("mean()"),
        "message should suggest a reduction: {msg}"
    );
    assert!(x.grad().is_none(), "a failed backward must not touch .grad");

    // Any one-element tensor is fine, whatever its shape (as in PyTorch).
    let one = Tensor::ones(&[1, 1]).requires_grad(true);
    (&one * 4.0).backward().unwrap();
    assert_eq!(grad_of(&one), vec![4.0]);
}

#[test]
fn backward_with_seeds_a_non_scalar_output() {
    let x = Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])
        .unwrap()
        .requires_grad(true);
    let y = x.pow_scalar(2.0);
    let seed = Tensor::new([[1.0f32, 0.0, -1.0], [0.5, 2.0, 0.0]]).unwrap();
    y.backward_with(&seed).unwrap();
    // d Σ(seed·x²) / dx = 2·x·seed
    assert_eq!(grad_of(&x), vec![2.0, 0.0, -6.0, 4.0, 20.0, 0.0]);
}

#[test]
fn backward_with_a_wrongly_shaped_gradient_errors() {
    let x = Tensor::ones(&[2, 3]).requires_grad(true);
    let y = &x * 2.0;
    for bad in [&[3, 2][..], &[6], &[2, 3, 1], &[]] {
        let msg = y
            .backward_with(&Tensor::ones(bad))
            .expect_err("wrong gradient shape must fail")
            .to_string();
        assert!(msg.starts_with("backward:"), "{msg}");
        assert!(
            msg.contains(&format!("{bad:?}")) && msg.contains("[2, 3]"),
            "message should name both shapes: {msg}"
        );
    }
    assert!(x.grad().is_none());
}

#[test]
fn backward_on_a_tensor_without_requires_grad_errors() {
    let c = t32([1.0, 2.0]);
    let y = (&c * 3.0).sum();
    assert!(!y.is_requires_grad());
    let msg = y.backward().unwrap_err().to_string();
    assert!(msg.contains("does not require grad"), "{msg}");
    let msg = c.backward_with(&t32([1.0, 1.0])).unwrap_err().to_string();
    assert!(msg.contains("does not require grad"), "{msg}");
}

// ---------------------------------------------------------------------------
// detach and no_grad
// ---------------------------------------------------------------------------

#[test]
fn detach_stops_gradients() {
    let x = t64([2.0, 3.0]).requires_grad(true);
    let d = x.detach();
    assert!(d.is_leaf() && !d.is_requires_grad());
    assert_eq!(d.to_vec::<f64>(), vec![2.0, 3.0]);
    // y = Σ x·stop(x): only the first factor carries a gradient (x, not 2x).
    let y = (&x * &d).sum();
    y.backward().unwrap();
    assert_eq!(grad_of(&x), vec![2.0, 3.0]);
    assert!(d.grad().is_none());

    // Detaching an intermediate cuts everything upstream of it.
    let x2 = t64([1.0]).requires_grad(true);
    let h = x2.exp().detach();
    let z = (&h * &x2).sum();
    z.backward().unwrap();
    assert_close(&grad_of(&x2), &[1f64.exp()], 1e-15);
}

#[test]
fn no_grad_records_nothing_and_restores_the_mode() {
    let w = t32([1.0, 2.0]).requires_grad(true);
    assert!(is_grad_enabled());
    let y = no_grad(|| {
        assert!(!is_grad_enabled());
        (&w * 2.0).exp()
    });
    assert!(is_grad_enabled(), "restored after a normal return");
    assert!(y.is_leaf() && !y.is_requires_grad() && y.op_name().is_none());
    assert_close(&y.to_vec::<f64>(), &[2f64.exp(), 4f64.exp()], 1e-6);
    assert!(
        y.sum().backward().is_err(),
        "nothing to backpropagate through"
    );
    assert!(w.grad().is_none());

    // Restored after a panic inside the scope, too.
    let r = catch_unwind(|| no_grad(|| panic!("boom inside no_grad")));
    assert!(r.is_err());
    assert!(is_grad_enabled(), "restored after a panic");

    // Recording works again.
    let z = &w * 2.0;
    assert!(z.is_requires_grad() && !z.is_leaf());
}

#[test]
fn no_grad_guards_nest() {
    let w = t32([1.0]).requires_grad(true);
    {
        let _outer = NoGradGuard::new();
        assert!(!is_grad_enabled());
        {
            let _inner = NoGradGuard::new();
            assert!(!is_grad_enabled());
        }
        assert!(!is_grad_enabled(), "dropping the inner guard keeps it off");
        assert!(!(&w * 2.0).is_requires_grad());
        no_grad(|| assert!(!is_grad_enabled()));
        assert!(!is_grad_enabled());
    }
    assert!(is_grad_enabled(), "the outer guard restores recording");
    no_grad(|| {
        no_grad(|| assert!(!is_grad_enabled()));
        assert!(!is_grad_enabled());
    });
    assert!(is_grad_enabled());
}

#[test]
fn grad_mode_is_per_thread_and_backward_restores_it() {
    let w = t32([1.0]).requires_grad(true);
    no_grad(|| {
        // Like PyTorch: another thread records as usual.
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(is_grad_enabled());
                assert!((&w * 2.0).is_requires_grad());
            });
        });
    });
    // backward turns recording off while it runs, and back on after.
    (&w * 2.0).sum().backward().unwrap();
    assert!(is_grad_enabled());
}

// ---------------------------------------------------------------------------
// item() and shape errors
// ---------------------------------------------------------------------------

#[test]
fn item_needs_exactly_one_element() {
    assert_eq!(Tensor::scalar(2.5f64).item().unwrap(), 2.5);
    assert_eq!(Tensor::new([[7.5f32]]).unwrap().item().unwrap(), 7.5);
    for (shape, n) in [(&[2, 3][..], 6), (&[0], 0), (&[2], 2)] {
        let msg = Tensor::zeros(shape).item().unwrap_err().to_string();
        assert!(
            msg.contains(&format!(
                "Can only convert tensors with 1 element to scalar, got {n}"
            )),
            "{msg}"
        );
    }
}

#[test]
fn shape_errors_are_results_naming_the_op_and_the_shapes() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[4]));
    for (op, r) in [
        ("add", a.add(&b)),
        ("sub", a.sub(&b)),
        ("mul", a.mul(&b)),
        ("div", a.div(&b)),
        ("maximum", a.maximum(&b)),
    ] {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::Broadcast { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("{op}: cannot broadcast shapes [2, 3] and [4]")
        );
    }

    let msg = err_text(a.matmul(&Tensor::zeros(&[4, 5])));
    assert!(msg.starts_with("matmul: "), "{msg}");
    assert!(msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
    assert!(msg.contains("3 != 4"), "inner dims: {msg}");
    // Batched operands whose batch dims do not broadcast.
    let msg = err_text(Tensor::zeros(&[2, 2, 3]).matmul(&Tensor::zeros(&[3, 3, 4])));
    assert!(msg.starts_with("matmul: "), "{msg}");

    assert_eq!(
        err_text(a.reshape(&[4, 2])),
        "reshape: shape '[4, 2]' is invalid for input of size 6"
    );
    assert_eq!(
        err_text(a.reshape(&[4, -1])),
        "reshape: shape '[4, -1]' is invalid for input of size 6"
    );

    let m = Tensor::zeros(&[3, 2]);
    let err = m.index_select(0, &[1, 3]).unwrap_err();
    assert!(matches!(err, Error::Index { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "index_select: index 3 is out of bounds for dimension 0 with size 3"
    );
    assert_eq!(
        err_text(m.narrow(1, 1, 2)),
        "narrow: start (1) + length (2) exceeds dimension size (2) of shape [3, 2]"
    );
    assert_eq!(
        err_text(m.gather(1, &Tensor::new([[0.0f32, 2.0]]).unwrap())),
        "gather: index 2 is out of bounds for dimension 1 with size 2"
    );
    let msg = err_text(m.gather(1, &Tensor::zeros(&[3])));
    assert!(
        msg.starts_with("gather: ") && msg.contains("[3]") && msg.contains("[3, 2]"),
        "{msg}"
    );
    let msg = err_text(m.index_select(2, &[0]));
    assert!(
        msg.starts_with("index_select: dimension out of range"),
        "{msg}"
    );

    assert_eq!(
        err_text(Tensor::cat(&[a.clone(), Tensor::zeros(&[3, 4])], 1)),
        "cat: sizes of tensors must match except in dimension 1: got [2, 3] and [3, 4]"
    );
    let msg = err_text(Tensor::stack(&[a.clone(), Tensor::zeros(&[3, 2])], 0));
    assert!(
        msg.starts_with("stack: ") && msg.contains("[3, 2]"),
        "{msg}"
    );
}

#[test]
fn operator_syntax_panics_with_the_result_message() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[4]));
    type Op = fn(&Tensor, &Tensor) -> Tensor;
    type Method = fn(&Tensor, &Tensor) -> Result<Tensor>;
    let cases: [(Op, Method); 4] = [
        (|x, y| x + y, Tensor::add),
        (|x, y| x - y, Tensor::sub),
        (|x, y| x * y, Tensor::mul),
        (|x, y| x / y, Tensor::div),
    ];
    for (op, method) in cases {
        let want = method(&a, &b).unwrap_err().to_string();
        let got = catch_unwind(AssertUnwindSafe(|| op(&a, &b)))
            .expect_err("operator on mismatched shapes must panic");
        assert_eq!(panic_text(got), want);
    }
    // Owned operands too.
    let got = catch_unwind(AssertUnwindSafe(|| a.clone() + b.clone())).unwrap_err();
    assert_eq!(
        panic_text(got),
        "add: cannot broadcast shapes [2, 3] and [4]"
    );
}

// ---------------------------------------------------------------------------
// robustness
// ---------------------------------------------------------------------------

#[test]
fn a_million_op_chain_backpropagates_and_drops_on_a_small_stack() {
    const OPS: usize = 1_000_000;
    const FACTOR: f64 = 1.000_000_1;
    let _heavy = heavy();
    // 256 KiB of stack: any per-node recursion (in backward or in drop)
    // would overflow long before a million nodes.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let before = thread_bytes();
            let x = Tensor::scalar(1.0f64).requires_grad(true);
            let mut y = x.clone();
            let mut middle: Option<WeakTensor> = None;
            for i in 0..OPS / 2 {
                y = y.mul_scalar(FACTOR).add_scalar(0.0);
                if i == OPS / 4 {
                    middle = Some(y.downgrade());
                }
            }
            let middle = middle.unwrap();
            let want = FACTOR.powi((OPS / 2) as i32); // ≈ e^0.05
            assert!((y.item().unwrap() - want).abs() < 1e-9, "value");
            y.backward().unwrap();
            let g = x.grad().unwrap().item().unwrap();
            assert!((g - want).abs() < 1e-9, "gradient {g} vs {want}");
            assert!(middle.is_alive(), "the graph lives as long as y");
            // (About 200 bytes a node: the count does see the graph.)
            let graph_bytes = thread_bytes() - before;
            assert!(
                graph_bytes > 64 * OPS as isize,
                "{graph_bytes} bytes for 1M nodes?"
            );
            drop(y);
            assert!(!middle.is_alive(), "the whole chain is freed with y");
            assert_eq!(
                x.grad().unwrap().item().unwrap(),
                g,
                "the leaf keeps its grad"
            );
            drop((x, middle));
            assert_eq!(thread_bytes(), before, "every byte of the graph is freed");
        })
        .unwrap()
        .join()
        .expect("deep graph: backward or drop failed (stack overflow?)");
}

#[test]
fn a_graphs_intermediate_tensors_are_freed_with_the_loss() {
    let x = Tensor::randn(&[4, 3], 1).requires_grad(true);
    let w = Tensor::randn(&[3, 2], 2).requires_grad(true);
    let h = x.matmul(&w).unwrap();
    let a = h.tanh();
    let loss = (&a * &a).mean();
    let weak: Vec<WeakTensor> = [&h, &a, &loss].iter().map(|t| t.downgrade()).collect();
    drop((h, a));
    assert!(
        weak.iter().all(WeakTensor::is_alive),
        "held by the loss's graph"
    );
    loss.backward().unwrap();
    let grad = w.grad().unwrap().downgrade();
    drop(loss);
    assert!(
        weak.iter().all(|t| !t.is_alive()),
        "intermediates must be freed once the loss is dropped"
    );
    // Leaves and their gradients stay.
    assert!(grad.is_alive());
    assert_eq!(x.grad().unwrap().shape(), &[4, 3]);
    w.zero_grad();
    assert!(!grad.is_alive(), "zero_grad releases the gradient");
}

#[test]
fn memory_stays_flat_over_a_thousand_training_steps() {
    let _heavy = heavy();
    // A 32 → 64 → 1 MLP with tanh, full-batch MSE regression, plain SGD.
    let x = Tensor::randn(&[64, 32], 10);
    let target = Tensor::randn(&[64, 1], 11);
    let params = [
        Tensor::randn(&[32, 64], 12)
            .mul_scalar(0.15)
            .requires_grad(true),
        Tensor::zeros(&[64]).requires_grad(true),
        Tensor::randn(&[64, 1], 13)
            .mul_scalar(0.1)
            .requires_grad(true),
        Tensor::zeros(&[1]).requires_grad(true),
    ];
    let lr = 0.05f32;
    let step = || -> (f64, Vec<WeakTensor>) {
        let h = x
            .matmul(&params[0])
            .unwrap()
            .add(&params[1])
            .unwrap()
            .tanh();
        let pred = h.matmul(&params[2]).unwrap().add(&params[3]).unwrap();
        let diff = pred.sub(&target).unwrap();
        let loss = (&diff * &diff).mean();
        loss.backward().unwrap();
        let mut weak: Vec<WeakTensor> = [&h, &pred, &diff, &loss]
            .iter()
            .map(|t| t.downgrade())
            .collect();
        no_grad(|| {
            for p in &params {
                let g = p.grad().expect("every parameter gets a gradient");
                weak.push(g.downgrade());
                let g = g.to_vec::<f32>();
                p.update(|v: &mut [f32]| v.iter_mut().zip(&g).for_each(|(w, g)| *w -= lr * g))
                    .unwrap();
                p.zero_grad();
            }
        });
        (loss.item().unwrap(), weak)
    };

    let (first_loss, _) = step();
    let mut held_after_warmup = 0;
    let mut last_loss = first_loss;
    for i in 1..1000 {
        let (loss, weak) = step();
        assert!(
            weak.iter().all(|t| !t.is_alive()),
            "step {i}: a graph tensor or gradient outlived its step"
        );
        drop(weak);
        last_loss = loss;
        if i == 10 {
            held_after_warmup = thread_bytes();
        }
    }
    // A step's graph and gradients hold ~60 KB; all of it must be freed by
    // the end of the step, so the bytes this thread holds stay put (even a
    // 17-byte-per-step leak would exceed the slack, which is there only for
    // lazily initialised runtime state).
    let growth = thread_bytes() - held_after_warmup;
    assert!(
        growth.abs() < 16 << 10,
        "memory held by the training thread changed by {growth} bytes over 990 steps"
    );
    assert!(
        last_loss < 0.5 * first_loss,
        "training should make progress: {first_loss} -> {last_loss}"
    );
    assert!(params.iter().all(|p| p.is_leaf() && p.grad().is_none()));
}

// ---------------------------------------------------------------------------
// threads
// ---------------------------------------------------------------------------

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tensor>();
    assert_send_sync::<WeakTensor>();
};

#[test]
fn a_graph_built_in_one_thread_backpropagates_in_another() {
    let w = t64([1.0, 2.0, 3.0]).requires_grad(true);
    let w_fwd = w.clone();
    let loss = std::thread::spawn(move || (&w_fwd * &w_fwd).sum())
        .join()
        .unwrap();
    assert_eq!(loss.item().unwrap(), 14.0);
    std::thread::spawn(move || loss.backward().unwrap())
        .join()
        .unwrap();
    assert_eq!(grad_of(&w), vec![2.0, 4.0, 6.0]);
}

#[test]
fn concurrent_backward_passes_accumulate_into_a_shared_leaf() {
    let w = t64([1.0, -1.0]).requires_grad(true);
    std::thread::scope(|s| {
        for k in 1..=8 {
            let w = &w;
            s.spawn(move || {
                for _ in 0..50 {
                    (w * k as f64).sum().backward().unwrap();
                }
            });
        }
    });
    // Σ_k 50·k = 50·36, for both elements; no update may be lost.
    assert_eq!(grad_of(&w), vec![1800.0, 1800.0]);
}

// ---------------------------------------------------------------------------
// dtypes
// ---------------------------------------------------------------------------

#[test]
fn f32_f64_conversion_round_trips() {
    let vals = [
        0.1f32,
        -2.5,
        3.0e-8,
        1.0e30,
        f32::MIN_POSITIVE,
        16_777_217.0,
    ];
    let x = t32(vals);
    let x64 = x.to_dtype(DType::F64);
    assert_eq!(x64.dtype(), DType::F64);
    assert_eq!(
        x64.to_vec::<f64>(),
        vals.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        "widening is exact"
    );
    let back = x64.to_dtype(DType::F32);
    assert_eq!(back.dtype(), DType::F32);
    assert_eq!(
        back.to_vec::<f32>(),
        x.to_vec::<f32>(),
        "bit-exact round trip"
    );
    // Narrowing rounds to nearest.
    let y = t64([0.1, 1.0 + 1e-12]).to_dtype(DType::F32);
    assert_eq!(y.to_vec::<f32>(), vec![0.1f32, 1.0]);
    // Converting to the same dtype is the identity.
    assert_eq!(x.to_dtype(DType::F32).id(), x.id());

    // The gradient flows back through the conversion, in the source dtype.
    let a = t32([1.0, 2.0]).requires_grad(true);
    let y = a.to_dtype(DType::F64).mul_scalar(3.0).sum();
    assert_eq!(y.dtype(), DType::F64);
    y.backward().unwrap();
    assert_eq!(a.grad().unwrap().dtype(), DType::F32);
    assert_eq!(grad_of(&a), vec![3.0, 3.0]);
}

#[test]
fn mixed_dtype_ops_promote_to_f64_with_gradients_in_each_inputs_dtype() {
    let a = Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])
        .unwrap()
        .requires_grad(true);
    let b = t64([0.5, -1.0, 0.25]).requires_grad(true);
    let y = a.mul(&b).unwrap();
    assert_eq!(y.dtype(), DType::F64);
    assert_eq!(y.to_vec::<f64>(), vec![0.5, -2.0, 0.75, 2.0, -5.0, 1.5]);
    y.sum().backward().unwrap();
    let (ga, gb) = (a.grad().unwrap(), b.grad().unwrap());
    assert_eq!((ga.dtype(), ga.shape()), (DType::F32, &[2, 3][..]));
    assert_eq!((gb.dtype(), gb.shape()), (DType::F64, &[3][..]));
    assert_eq!(ga.to_vec::<f64>(), vec![0.5, -1.0, 0.25, 0.5, -1.0, 0.25]);
    assert_eq!(gb.to_vec::<f64>(), vec![5.0, 7.0, 9.0]);

    // The other operand order, and other promoting ops.
    let (p, q) = (
        t64([2.0, 3.0]).requires_grad(true),
        t32([4.0, 5.0]).requires_grad(true),
    );
    let z = p.sub(&q).unwrap();
    assert_eq!(z.dtype(), DType::F64);
    z.sum().backward().unwrap();
    assert_eq!(
        (p.grad().unwrap().dtype(), grad_of(&p)),
        (DType::F64, vec![1.0, 1.0])
    );
    assert_eq!(
        (q.grad().unwrap().dtype(), grad_of(&q)),
        (DType::F32, vec![-1.0, -1.0])
    );

    let m = a.matmul(&t64([1.0, 1.0, 1.0])).unwrap();
    assert_eq!(
        (m.dtype(), m.to_vec::<f64>()),
        (DType::F64, vec![6.0, 15.0])
    );
    let c = Tensor::cat(&[t32([1.0]), t64([2.0])], 0).unwrap();
    assert_eq!((c.dtype(), c.to_vec::<f64>()), (DType::F64, vec![1.0, 2.0]));

    // A scalar does not promote: f32 stays f32.
    assert_eq!((&a * 2.0).dtype(), DType::F32);
    assert_eq!(a.add_scalar(0.5).dtype(), DType::F32);
}

/// `f` at mixed dtypes and at f64 throughout: the same output (promotion
/// converts, then computes in f64), each gradient in its own input's dtype
/// and equal to the f64 one rounded to that dtype.
fn assert_promotes(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) {
    let mixed: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.detach().requires_grad(true))
        .collect();
    let wide: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_dtype(DType::F64).detach().requires_grad(true))
        .collect();
    let (y, y64) = (f(&mixed), f(&wide));
    assert_eq!(y.dtype(), DType::F64);
    assert_eq!(y.to_vec::<f64>(), y64.to_vec::<f64>());
    let w = Tensor::randn(y.shape(), 9).to_dtype(DType::F64);
    y.mul(&w).unwrap().sum().backward().unwrap();
    y64.mul(&w).unwrap().sum().backward().unwrap();
    for (i, (m, v)) in mixed.iter().zip(&wide).enumerate() {
        let (g, g64) = (m.grad().unwrap(), v.grad().unwrap());
        assert_eq!((i, g.dtype(), g.shape()), (i, m.dtype(), m.shape()));
        assert_eq!(g.to_vec::<f64>(), g64.to_dtype(m.dtype()).to_vec::<f64>());
    }
}

#[test]
fn conv_and_batch_norm_promote_mixed_dtypes_like_every_op() {
    let x32 = Tensor::randn(&[2, 3, 5, 5], 1);
    let w64 = Tensor::randn(&[4, 3, 3, 3], 2).to_dtype(DType::F64);
    let b64 = Tensor::randn(&[4], 3).to_dtype(DType::F64);
    let conv = |t: &[Tensor]| {
        t[0].conv2d(&t[1], t.get(2), (2, 1), (1, 1), (1, 1), 1)
            .unwrap()
    };
    assert_promotes(&[x32.clone(), w64.clone(), b64], conv);
    // f64 input, f32 weight: promoted the other way round.
    let w32 = Tensor::randn(&[4, 3, 3, 3], 4);
    assert_promotes(&[x32.to_dtype(DType::F64), w32.clone()], conv);
    assert_promotes(
        &[
            Tensor::randn(&[2, 3, 4], 5),
            Tensor::randn(&[4, 3, 3], 6).to_dtype(DType::F64),
        ],
        |t| t[0].conv1d(&t[1], None, 1, 1, 1, 1).unwrap(),
    );
    let up = ConvTranspose {
        stride: (2, 2),
        ..Default::default()
    };
    assert_promotes(
        &[
            x32.clone(),
            Tensor::randn(&[3, 2, 2, 2], 7).to_dtype(DType::F64),
        ],
        |t| t[0].conv_transpose2d(&t[1], None, &up).unwrap(),
    );

    let x = Tensor::randn(&[4, 3, 2], 8);
    let (g64, b64) = (
        Tensor::randn(&[3], 9).to_dtype(DType::F64),
        Tensor::randn(&[3], 10).to_dtype(DType::F64),
    );
    for training in [true, false] {
        // Running statistics take the promoted dtype (they are no operands).
        let (rm, rv) = (
            Tensor::full_dtype(&[3], 0.1, DType::F64),
            Tensor::full_dtype(&[3], 2.0, DType::F64),
        );
        assert_promotes(&[x.clone(), g64.clone(), b64.clone()], |t| {
            t[0].batch_norm(
                Some(&rm),
                Some(&rv),
                t.get(1),
                t.get(2),
                training,
                0.1,
                1e-5,
            )
            .unwrap()
        });
    }
    let rm32 = Tensor::zeros(&[3]);
    let e = x
        .batch_norm(Some(&rm32), None, Some(&g64), None, true, 0.1, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "running_mean has dtype float32 but the input, weight and bias compute in float64"
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// creation
// ---------------------------------------------------------------------------

#[test]
fn constant_and_range_constructors() {
    let z = Tensor::zeros(&[2, 3]);
    assert_eq!((z.shape(), z.dtype()), (&[2, 3][..], DType::F32));
    assert_eq!(z.to_vec::<f32>(), vec![0.0; 6]);
    assert!(!z.is_requires_grad() && z.is_leaf());
    assert_eq!(Tensor::ones(&[3]).to_vec::<f32>(), vec![1.0; 3]);
    assert_eq!(Tensor::full(&[2, 1], 3.5).to_vec::<f32>(), vec![3.5, 3.5]);
    let f = Tensor::full_dtype(&[2], -0.1, DType::F64);
    assert_eq!(
        (f.dtype(), f.to_vec::<f64>()),
        (DType::F64, vec![-0.1, -0.1])
    );
    let s = Tensor::zeros(&[]);
    assert_eq!((s.shape(), s.numel()), (&[] as &[usize], 1));

    assert_eq!(
        Tensor::arange(0.0, 5.0, 1.0).to_vec::<f32>(),
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(
        Tensor::arange(1.0, 2.0, 0.25).to_vec::<f32>(),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(
        Tensor::arange(5.0, 0.0, -2.0).to_vec::<f32>(),
        vec![5.0, 3.0, 1.0]
    );
    assert_eq!(Tensor::arange(0.0, 0.0, 1.0).shape(), &[0]);

    assert_eq!(
        Tensor::linspace(-1.0, 1.0, 5).to_vec::<f32>(),
        vec![-1.0, -0.5, 0.0, 0.5, 1.0]
    );
    let l = Tensor::linspace(0.0, 1.0, 7).to_vec::<f32>();
    assert_eq!((l[0], l[6], l.len()), (0.0, 1.0, 7), "ends are exact");
    assert_eq!(Tensor::linspace(2.0, 3.0, 1).to_vec::<f32>(), vec![2.0]);
    assert_eq!(Tensor::linspace(2.0, 3.0, 0).shape(), &[0]);

    let e = Tensor::eye(3);
    assert_eq!(e.shape(), &[3, 3]);
    assert_eq!(
        e.to_vec::<f32>(),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn seeded_random_constructors() {
    let (a, b, c) = (
        Tensor::rand(&[1000], 42),
        Tensor::rand(&[1000], 42),
        Tensor::rand(&[1000], 43),
    );
    assert_eq!(
        a.to_vec::<f32>(),
        b.to_vec::<f32>(),
        "same seed, same values"
    );
    assert_ne!(
        a.to_vec::<f32>(),
        c.to_vec::<f32>(),
        "another seed, other values"
    );
    assert!(a.to_vec::<f32>().iter().all(|&v| (0.0..1.0).contains(&v)));
    assert!((a.mean().item().unwrap() - 0.5).abs() < 0.05);

    let n = Tensor::randn(&[100_000], 7);
    assert_eq!(
        n.to_vec::<f32>(),
        Tensor::randn(&[100_000], 7).to_vec::<f32>()
    );
    assert_ne!(
        n.to_vec::<f32>(),
        Tensor::randn(&[100_000], 8).to_vec::<f32>()
    );
    let v = n.to_dtype(DType::F64);
    let (mean, std) = (v.mean().item().unwrap(), v.std(1).item().unwrap());
    // Standard errors: 0.003 for the mean, 0.002 for the std.
    assert!(mean.abs() < 0.015, "randn mean {mean}");
    assert!((std - 1.0).abs() < 0.015, "randn std {std}");
    let r = Tensor::randn(&[2, 3], 1);
    assert_eq!((r.shape(), r.dtype()), (&[2, 3][..], DType::F32));
}

#[test]
fn like_constructors_keep_shape_and_dtype() {
    for dtype in [DType::F32, DType::F64] {
        let base = Tensor::full_dtype(&[2, 3], 9.0, dtype);
        for (name, t) in [
            ("zeros_like", base.zeros_like()),
            ("ones_like", base.ones_like()),
            ("full_like", base.full_like(-2.0)),
            ("rand_like", base.rand_like(3)),
            ("randn_like", base.randn_like(3)),
        ] {
            assert_eq!(t.dtype(), dtype, "{name}");
            assert_eq!(t.shape(), &[2, 3], "{name}");
            assert!(!t.is_requires_grad(), "{name}");
        }
        assert_eq!(base.zeros_like().to_vec::<f64>(), vec![0.0; 6]);
        assert_eq!(base.ones_like().to_vec::<f64>(), vec![1.0; 6]);
        assert_eq!(base.full_like(-2.0).to_vec::<f64>(), vec![-2.0; 6]);
        // Same seed, same numbers as the plain constructors.
        assert_eq!(
            base.rand_like(3).to_vec::<f32>(),
            Tensor::rand(&[2, 3], 3).to_vec::<f32>()
        );
        assert_eq!(
            base.randn_like(3).to_vec::<f32>(),
            Tensor::randn(&[2, 3], 3).to_vec::<f32>()
        );
    }
    // `_like` of a tensor that requires grad does not require grad.
    let w = Tensor::ones(&[2]).requires_grad(true);
    assert!(!w.zeros_like().is_requires_grad());
}

#[test]
fn tensor_new_and_from_vec() {
    let t = Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[2, 3][..], DType::F32));
    assert_eq!(t.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let t = Tensor::new([[[1.0f64], [2.0]]]).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[1, 2, 1][..], DType::F64));
    let t = Tensor::new(vec![vec![1.0f64, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.to_vec::<f64>(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let s = Tensor::new(2.5f64).unwrap();
    assert_eq!((s.shape(), s.item().unwrap()), (&[] as &[usize], 2.5));
    assert_eq!(Tensor::new(Vec::<f32>::new()).unwrap().shape(), &[0]);

    for ragged in [
        Tensor::new(vec![vec![1.0f64, 2.0], vec![3.0]]),
        Tensor::new(vec![vec![1.0f64], vec![]]),
        Tensor::new(vec![vec![vec![1.0f32, 2.0]], vec![vec![3.0]]]),
    ] {
        let msg = err_text(ragged);
        assert!(msg.contains("ragged"), "{msg}");
    }

    let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    assert_eq!((t.shape(), t.dtype()), (&[3, 2][..], DType::F64));
    assert_eq!(
        err_text(Tensor::from_vec(vec![1.0f32; 3], &[2, 2])),
        "from_vec: 3 elements cannot fill shape [2, 2] (4 elements)"
    );
    assert!(Tensor::from_vec(vec![1.0f32; 5], &[2, 2]).is_err());
    assert_eq!(
        Tensor::from_vec(vec![4.0f32], &[]).unwrap().item().unwrap(),
        4.0
    );
}

#[test]
fn retained_non_leaf_gradients_accumulate_like_pytorch() {
    // y = 2x, h = 3y, loss = sum(h²): dloss/dh = 2h = 12x, dloss/dy = 36x.
    let x = t64([1.0, -2.0]).requires_grad(true);
    let y = &x * 2.0;
    let h = &y * 3.0;
    y.retain_grad();
    let loss = (&h * &h).sum();
    loss.retain_grad();
    loss.backward_retain_graph(None).unwrap();
    assert_close(&grad_of(&y), &[36.0, -72.0], 0.0);
    assert_close(&grad_of(&loss), &[1.0], 0.0);
    assert!(h.grad().is_none(), "not retained, so not kept");
    // A second pass through the same (retained) graph: every stored
    // gradient doubles (PyTorch's counts), leaves included: dloss/dx = 72x twice.
    loss.backward().unwrap();
    assert_close(&grad_of(&y), &[72.0, -144.0], 0.0);
    assert_close(&grad_of(&x), &[144.0, -288.0], 0.0);
}

#[test]
fn a_gradient_passed_through_add_is_not_shared_by_the_tensors_that_keep_it() {
    // s = a + b passes its gradient on unchanged to a and b; s keeps its own
    // copy, so a second pass adding into a's gradient leaves s's alone.
    let a = t64([1.0, 2.0]).requires_grad(true);
    let b = t64([3.0, -1.0]).requires_grad(true);
    let s = &a + &b;
    s.retain_grad();
    let loss = (&s * 2.0).sum();
    loss.backward_retain_graph(None).unwrap();
    assert_close(&grad_of(&s), &[2.0, 2.0], 0.0);
    assert_close(&grad_of(&a), &[2.0, 2.0], 0.0);
    a.grad()
        .unwrap()
        .update(|g: &mut [f64]| g.fill(-5.0))
        .unwrap();
    assert_close(&grad_of(&s), &[2.0, 2.0], 0.0);
    loss.backward().unwrap();
    assert_close(&grad_of(&s), &[4.0, 4.0], 0.0);
    assert_close(&grad_of(&a), &[-3.0, -3.0], 0.0);
    assert_close(&grad_of(&b), &[4.0, 4.0], 0.0);
}

#[test]
fn a_second_backward_without_retain_graph_is_an_error_not_a_double_count() {
    // PyTorch: "Trying to backward through the graph a second time".
    let x = t64([1.0, -2.0]).requires_grad(true);
    let loss = (&x * &x).sum();
    loss.backward().unwrap();
    let err = loss.backward().unwrap_err().to_string();
    assert!(err.contains("a second time"), "{err}");
    assert_close(&grad_of(&x), &[2.0, -4.0], 0.0);
    // Part of a used graph counts too: a new loss over an old intermediate
    // (exp saves its result, so PyTorch refuses this as well).
    let h = x.exp();
    (&h * 1.0).sum().backward().unwrap();
    let again = (&h * 2.0).sum().backward().unwrap_err().to_string();
    assert!(again.contains("a second time"), "{again}");
}

#[test]
fn gradients_accumulate_in_place_so_every_handle_sees_the_sum() {
    let x = t32([1.0, 2.0]).requires_grad(true);
    (&x * 3.0).sum().backward().unwrap();
    let held = x.grad().unwrap();
    (&x * 3.0).sum().backward().unwrap();
    assert_close(&held.to_vec::<f64>(), &[6.0, 6.0], 0.0);
    assert_eq!(held.id(), x.grad().unwrap().id());
}

#[test]
fn modifying_a_recorded_input_in_place_refuses_backward() {
    let w = t32([1.0, 2.0]).requires_grad(true);
    let loss = (&w * &w).sum();
    assert_eq!(w.version(), 0);
    w.update(|v: &mut [f32]| v[0] = 5.0).unwrap();
    assert_eq!(w.version(), 1);
    let err = loss.backward().unwrap_err().to_string();
    assert!(
        err.contains("gradient of mul") && err.contains("modified in place"),
        "{err}"
    );
    // A fresh forward pass after the change is fine: d(sum w²)/dw = 2w.
    (&w * &w).sum().backward().unwrap();
    assert_close(&grad_of(&w), &[10.0, 4.0], 0.0);
}

#[test]
fn custom_ops_join_the_graph_in_the_middle_of_a_chain() {
    // cube(x) = x³ written by hand, between two engine ops:
    // loss = sum(cube(2x) · [1, 10]), dloss/dx = 3·(2x)²·2·[1, 10].
    let x = t64([1.0, -0.5]).requires_grad(true);
    let u = &x * 2.0;
    let cubed: Vec<f64> = u.to_vec::<f64>().iter().map(|v| v * v * v).collect();
    let c = Tensor::custom_op(
        Storage::F64(cubed),
        vec![2],
        "cube",
        vec![u.clone()],
        |g, inputs, _| {
            Ok(vec![Some(
                g.mul(&inputs[0].mul(&inputs[0])?.mul_scalar(3.0))?,
            )])
        },
    )
    .unwrap();
    assert_eq!(c.op_name(), Some("cube"));
    (&c * &t64([1.0, 10.0])).sum().backward().unwrap();
    assert_close(&grad_of(&x), &[24.0, 60.0], 1e-12);

    let err = Tensor::custom_op(
        Storage::F64(vec![1.0]),
        vec![2],
        "cube",
        vec![],
        |_, _, _| Ok(vec![]),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "custom_op: cube: 1 values do not fill shape [2] (2 elements)"
    );
}

#[test]
fn a_grad_set_by_hand_is_added_to_in_its_dtype_or_refused_if_misshapen() {
    // Gradients from two paths (x used twice) sum, into the f64 .grad that
    // was set by hand on an f32 tensor: d/dx (x·x + 3x) = 2x + 3.
    let x = Tensor::new([1.0f32, 2.0]).unwrap().requires_grad(true);
    x.set_grad(Some(t64([10.0, 20.0])));
    let y = (&(&x * &x) + &(&x * 3.0)).sum();
    y.backward().unwrap();
    let grad = x.grad().unwrap();
    assert_eq!(grad.dtype(), micrograd_plus::DType::F64);
    assert_eq!(grad.to_vec::<f64>(), [15.0, 27.0]);

    x.set_grad(Some(t64([1.0, 2.0, 3.0])));
    let err = (&x * 2.0).sum().backward().unwrap_err().to_string();
    assert!(
        err.starts_with("the .grad of a tensor of shape [2] has shape [3]"),
        "{err}"
    );
    assert_eq!(x.grad().unwrap().to_vec::<f64>(), [1.0, 2.0, 3.0]);
}

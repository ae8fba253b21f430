//! `kernels::set_num_threads`: the calling thread becomes one of the pool's
//! workers, and work started on other threads still completes. (Its own
//! test binary: the pool is built once per process.)

use micrograd_plus::Tensor;

/// A product big enough to be shared out across threads, against a plain
/// triple loop in f64.
fn check_product_on_this_thread(n: usize) {
    let a: Vec<f32> = (0..n * n)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    let b: Vec<f32> = (0..n * n)
        .map(|i| ((i * 53) % 97) as f32 / 48.0 - 1.0)
        .collect();
    let c = Tensor::from_vec(a.clone(), &[n, n])
        .unwrap()
        .matmul(&Tensor::from_vec(b.clone(), &[n, n]).unwrap())
        .unwrap()
        .to_vec::<f32>();
    for (i, j) in [(0, 0), (n / 2, n - 1), (n - 1, n / 3)] {
        let want: f64 = (0..n)
            .map(|p| a[i * n + p] as f64 * b[p * n + j] as f64)
            .sum();
        assert!((c[i * n + j] as f64 - want).abs() < 1e-3 * (1.0 + want.abs()));
    }
}

#[test]
fn the_calling_thread_is_a_worker_and_other_threads_still_get_their_work_done() {
    micrograd_plus::kernels::set_num_threads(2).unwrap();
    assert_eq!(rayon::current_num_threads(), 2);
    assert_eq!(
        rayon::current_thread_index(),
        Some(0),
        "the caller is worker 0"
    );
    check_product_on_this_thread(384);
    // A thread outside the pool hands its work to the other worker.
    std::thread::spawn(|| {
        assert_eq!(rayon::current_thread_index(), None);
        check_product_on_this_thread(384);
    })
    .join()
    .unwrap();
    // The pool is built once.
    let again = micrograd_plus::kernels::set_num_threads(2)
        .unwrap_err()
        .to_string();
    assert!(again.contains("set_num_threads"), "{again}");
}

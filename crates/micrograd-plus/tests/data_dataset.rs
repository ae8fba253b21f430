//! TensorDataset gathering, subsets and splits, and the synthetic sets.

use std::sync::Arc;

use micrograd_plus::data::synthetic::{
    make_moons_dataset, make_regression, make_spirals, make_xor, xor,
};
use micrograd_plus::data::{random_split, train_val_split, Dataset, Subset, TensorDataset};
use micrograd_plus::{DType, Tensor};

#[test]
fn get_batch_gathers_rows_of_any_rank_and_dtype() {
    // 4 samples of shape (2, 3), f64; targets (4, 2).
    let x: Vec<f64> = (0..24).map(|i| i as f64).collect();
    let y: Vec<f64> = (0..8).map(|i| -(i as f64)).collect();
    let ds = TensorDataset::new(
        Tensor::from_vec(x.clone(), &[4, 2, 3]).unwrap(),
        Tensor::from_vec(y.clone(), &[4, 2]).unwrap(),
    )
    .unwrap();
    let b = ds.get_batch(&[3, 0, 3]).unwrap();
    assert_eq!(b.inputs.shape(), &[3, 2, 3]);
    assert_eq!(b.inputs.dtype(), DType::F64);
    let want: Vec<f64> = [3, 0, 3]
        .iter()
        .flat_map(|&i| x[i * 6..(i + 1) * 6].to_vec())
        .collect();
    assert_eq!(b.inputs.to_vec::<f64>(), want);
    assert_eq!(
        b.targets.to_vec::<f64>(),
        vec![-6.0, -7.0, -0.0, -1.0, -6.0, -7.0]
    );
    assert_eq!(ds.get_batch(&[]).unwrap().inputs.shape(), &[0, 2, 3]);
    let err = ds.get_batch(&[1, 4]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TensorDataset::get_batch: index 4 is out of range for a dataset of 4 samples"
    );
}

#[test]
fn dataset_tensors_leave_the_graph() {
    let w = Tensor::ones(&[3, 2]).requires_grad(true);
    let ds = TensorDataset::new(&w * 2.0, Tensor::zeros(&[3])).unwrap();
    assert!(ds.inputs().is_leaf());
    assert!(!ds.get_batch(&[0]).unwrap().inputs.is_requires_grad());
}

#[test]
fn splits_partition_the_dataset() {
    let n = 50;
    let ds: Arc<TensorDataset> = Arc::new(
        TensorDataset::from_vecs((0..n).map(|i| i as f32).collect(), &[1], vec![0.0f32; n])
            .unwrap(),
    );
    let (train, val) = train_val_split(ds.clone(), 0.2, 7).unwrap();
    assert_eq!((train.len(), val.len()), (40, 10));
    let mut all: Vec<usize> = train
        .indices()
        .iter()
        .chain(val.indices())
        .copied()
        .collect();
    all.sort();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
    // A subset's batch is the parent's samples at its indices.
    let b = val.get_batch(&[0, 9]).unwrap();
    assert_eq!(
        b.inputs.to_vec::<f32>(),
        vec![val.indices()[0] as f32, val.indices()[9] as f32]
    );
    // Seeded: same seed same split, other seed other split.
    let (_, val2) = train_val_split(ds.clone(), 0.2, 7).unwrap();
    assert_eq!(val.indices(), val2.indices());
    let (_, val3) = train_val_split(ds.clone(), 0.2, 8).unwrap();
    assert_ne!(val.indices(), val3.indices());

    let parts = random_split(ds.clone(), &[10, 0, 40], 1).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![10, 0, 40]
    );
    let err = random_split(ds.clone(), &[10, 10], 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "random_split: lengths [10, 10] add up to 20, but the dataset has 50 samples"
    );
    // Subsets nest.
    let inner = Subset::new(Arc::new(val), vec![2]).unwrap();
    assert_eq!(
        inner.get_batch(&[0]).unwrap().inputs.to_vec::<f32>(),
        vec![val2.indices()[2] as f32]
    );
}

#[test]
fn spirals_follow_their_formula() {
    let (n, k, noise) = (50, 3, 0.0);
    let ds = make_spirals(n, k, noise, 0).unwrap();
    assert_eq!(ds.len(), n * k);
    let x = ds.inputs().to_vec::<f32>();
    let y = ds.targets().to_vec::<f32>();
    for j in 0..k {
        for i in 0..n {
            let r = i as f64 / (n - 1) as f64;
            let t = 4.0 * (j as f64 + r);
            let s = j * n + i;
            assert!((x[2 * s] as f64 - r * t.sin()).abs() < 1e-6);
            assert!((x[2 * s + 1] as f64 - r * t.cos()).abs() < 1e-6);
            assert_eq!(y[s], j as f32);
            // Radius is r, whatever the noise does to the angle.
        }
    }
    let noisy = make_spirals(n, k, 0.3, 5).unwrap().inputs().to_vec::<f32>();
    for s in 0..n * k {
        let r = (s % n) as f64 / (n - 1) as f64;
        let got = (noisy[2 * s] as f64).hypot(noisy[2 * s + 1] as f64);
        assert!((got - r).abs() < 1e-6);
    }
    assert_ne!(noisy, x);
}

#[test]
fn xor_sets() {
    let ds = xor();
    let x = ds.inputs().to_vec::<f32>();
    let y = ds.targets().to_vec::<f32>();
    for i in 0..4 {
        let (a, b) = (x[2 * i] as u8, x[2 * i + 1] as u8);
        assert_eq!(y[i], (a ^ b) as f32);
    }
    let noisy = make_xor(400, 0.1, 3).unwrap();
    let (x, y) = (
        noisy.inputs().to_vec::<f32>(),
        noisy.targets().to_vec::<f32>(),
    );
    // With noise 0.1 almost every point stays in its corner's quadrant
    // around (0.5, 0.5), whose XOR is its label.
    let agree = (0..400)
        .filter(|&i| (((x[2 * i] > 0.5) as u8) ^ ((x[2 * i + 1] > 0.5) as u8)) as f32 == y[i])
        .count();
    assert!(agree > 390, "{agree}");
    assert!(make_xor(4, -1.0, 0).is_err());
}

#[test]
#[allow(clippy::needless_range_loop)] // index math reads like the algebra
fn regression_recovers_its_weights_by_least_squares() {
    let r = make_regression(500, 3, 0.01, 11).unwrap();
    assert_eq!(r.dataset.inputs().shape(), &[500, 3]);
    assert_eq!(r.dataset.targets().shape(), &[500, 1]);
    let x: Vec<f64> = r.dataset.inputs().to_vec();
    let y: Vec<f64> = r.dataset.targets().to_vec();
    // Normal equations on [x, 1]: a 4x4 system solved by Gaussian elimination.
    let d = 4;
    let mut a = vec![vec![0.0f64; d + 1]; d];
    for i in 0..500 {
        let row = [x[3 * i], x[3 * i + 1], x[3 * i + 2], 1.0];
        for p in 0..d {
            for q in 0..d {
                a[p][q] += row[p] * row[q];
            }
            a[p][d] += row[p] * y[i];
        }
    }
    for p in 0..d {
        for q in p + 1..d {
            let f = a[q][p] / a[p][p];
            let pivot = a[p].clone();
            for (aq, ap) in a[q].iter_mut().zip(&pivot).skip(p) {
                *aq -= f * ap;
            }
        }
    }
    let mut sol = vec![0.0; d];
    for p in (0..d).rev() {
        sol[p] = (a[p][d] - (p + 1..d).map(|c| a[p][c] * sol[c]).sum::<f64>()) / a[p][p];
    }
    for j in 0..3 {
        assert!(
            (sol[j] - r.weight[j] as f64).abs() < 5e-3,
            "{sol:?} vs {:?}",
            r.weight
        );
    }
    assert!((sol[3] - r.bias as f64).abs() < 5e-3);
}

#[test]
fn moons_dataset_matches_make_moons() {
    let ds = make_moons_dataset(30, 0.1, 2).unwrap();
    let m = micrograd_plus::data::moons::make_moons(30, 0.1, 2).unwrap();
    let x = ds.inputs().to_vec::<f32>();
    for (i, p) in m.points.iter().enumerate() {
        assert_eq!((x[2 * i], x[2 * i + 1]), (p[0] as f32, p[1] as f32));
    }
    assert_eq!(
        ds.targets().to_vec::<f32>(),
        m.labels.iter().map(|&l| l as f32).collect::<Vec<_>>()
    );
}

//! Transforms: exact crops and flips on hand-built images, normalisation
//! values, to_tensor layouts, seeded determinism, shape errors.

use micrograd_plus::data::transforms::{
    to_tensor, Compose, Layout, Normalize, RandomCrop, RandomHorizontalFlip, Transform,
};
use micrograd_plus::data::Batch;
use micrograd_plus::Tensor;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Image k, channel c, pixel (y, x) holds 1000k + 100c + 10y + x + 1 (never 0,
/// so padding zeros stand out).
fn labelled_images(n: usize, c: usize, h: usize, w: usize) -> Tensor {
    let mut v = Vec::new();
    for k in 0..n {
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    v.push((1000 * k + 100 * ch + 10 * y + x + 1) as f32);
                }
            }
        }
    }
    Tensor::from_vec(v, &[n, c, h, w]).unwrap()
}

fn batch(x: Tensor) -> Batch {
    let n = x.shape()[0];
    Batch {
        inputs: x,
        targets: Tensor::arange(0.0, n as f64, 1.0),
    }
}

#[test]
fn crop_at_every_corner_is_exact() {
    // Smaller, same-size (cropped in place) and larger-than-image windows.
    for (h, w, size, pad) in [(3, 4, 3, 2), (4, 4, 4, 2), (5, 5, 3, 1), (2, 2, 4, 1)] {
        check_every_corner(h, w, size, pad);
    }
}

fn check_every_corner(h: usize, w: usize, size: usize, pad: usize) {
    let (n, c) = (2, 2);
    let x = labelled_images(n, c, h, w);
    let src = x.to_vec::<f32>();
    let crop = RandomCrop::new(size, pad);
    for top in 0..=h + 2 * pad - size {
        for left in 0..=w + 2 * pad - size {
            let corners = vec![(top, left), (h + 2 * pad - size - top, left)];
            let out = crop.crop_at(&x, &corners).unwrap();
            assert_eq!(out.shape(), &[n, c, size, size]);
            let got = out.to_vec::<f32>();
            for (k, &(t, l)) in corners.iter().enumerate() {
                for ch in 0..c {
                    for y in 0..size {
                        for xx in 0..size {
                            // Position in the padded image, then in the source.
                            let (py, px) = (
                                (y + t) as isize - pad as isize,
                                (xx + l) as isize - pad as isize,
                            );
                            let want =
                                if py >= 0 && px >= 0 && (py as usize) < h && (px as usize) < w {
                                    src[((k * c + ch) * h + py as usize) * w + px as usize]
                                } else {
                                    0.0
                                };
                            assert_eq!(
                                got[((k * c + ch) * size + y) * size + xx],
                                want,
                                "image {k} ch {ch} ({y},{xx}) corner ({t},{l})"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn crop_hand_checked_and_errors() {
    // A 1x2x2 image [[1, 2], [3, 4]], padded by 1 -> 4x4, 2x2 window at (1, 2).
    let x = Tensor::new([[[[1.0f32, 2.0], [3.0, 4.0]]]]).unwrap();
    let out = RandomCrop::new(2, 1).crop_at(&x, &[(1, 2)]).unwrap();
    assert_eq!(out.to_vec::<f32>(), vec![2.0, 0.0, 4.0, 0.0]);
    // No padding, full-size crop: the identity.
    let same = RandomCrop::new(2, 0).crop_at(&x, &[(0, 0)]).unwrap();
    assert_eq!(same.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0]);

    assert!(RandomCrop::new(5, 1).crop_at(&x, &[(0, 0)]).is_err());
    assert!(RandomCrop::new(2, 1).crop_at(&x, &[(3, 0)]).is_err());
    assert!(RandomCrop::new(2, 1).crop_at(&x, &[]).is_err());
    let err = RandomCrop::new(2, 1)
        .apply(batch(Tensor::zeros(&[2, 3])), &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "RandomCrop: expected images of shape (N, C, H, W), got [2, 3]"
    );
}

#[test]
fn random_crop_uses_every_offset_and_keeps_targets() {
    let x = labelled_images(64, 1, 4, 4);
    let out = RandomCrop::new(4, 1)
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(5))
        .unwrap();
    assert_eq!(
        out.targets.to_vec::<f32>(),
        (0..64).map(|i| i as f32).collect::<Vec<_>>()
    );
    // Each output is crop_at with some corner in 0..=2 x 0..=2; find it.
    let got = out.inputs.to_vec::<f32>();
    let crop = RandomCrop::new(4, 1);
    let mut seen = [[false; 3]; 3];
    for k in 0..64 {
        let one = x.narrow(0, k, 1).unwrap();
        let img = &got[k * 16..(k + 1) * 16];
        let corner = (0..3)
            .flat_map(|t| (0..3).map(move |l| (t, l)))
            .find(|&c| crop.crop_at(&one, &[c]).unwrap().to_vec::<f32>() == img)
            .expect("output is a crop of its own input");
        seen[corner.0][corner.1] = true;
    }
    assert!(
        seen.iter().flatten().all(|&s| s),
        "64 draws miss a corner: {seen:?}"
    );
}

#[test]
fn flip_is_exact_and_random_flip_is_seeded() {
    let x = labelled_images(3, 2, 2, 3);
    let out = RandomHorizontalFlip::flip_where(&x, &[true, false, true]).unwrap();
    let (src, got) = (x.to_vec::<f32>(), out.to_vec::<f32>());
    for k in 0..3 {
        for ch in 0..2 {
            for y in 0..2 {
                for xx in 0..3 {
                    let sx = if k != 1 { 2 - xx } else { xx };
                    assert_eq!(
                        got[((k * 2 + ch) * 2 + y) * 3 + xx],
                        src[((k * 2 + ch) * 2 + y) * 3 + sx]
                    );
                }
            }
        }
    }
    // Flipping twice is the identity.
    let back = RandomHorizontalFlip::flip_where(&out, &[true, false, true]).unwrap();
    assert_eq!(back.to_vec::<f32>(), src);

    let x = labelled_images(200, 1, 1, 2);
    let flip = RandomHorizontalFlip::new(0.5).unwrap();
    let a = flip
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(1))
        .unwrap();
    let b = flip
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(1))
        .unwrap();
    assert_eq!(a.inputs.to_vec::<f32>(), b.inputs.to_vec::<f32>());
    let v = a.inputs.to_vec::<f32>();
    let flipped = v.chunks(2).filter(|p| p[0] > p[1]).count();
    assert!(
        (60..140).contains(&flipped),
        "{flipped} of 200 flipped at p=0.5"
    );
    let none = RandomHorizontalFlip::new(0.0).unwrap();
    let c = none
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(1))
        .unwrap();
    assert_eq!(c.inputs.to_vec::<f32>(), x.to_vec::<f32>());
    assert!(RandomHorizontalFlip::new(-0.1).is_err());
}

#[test]
fn normalize_values_and_fit() {
    // Two 2-channel 1x2 images.
    let x = Tensor::new([
        [[[0.0f32, 0.5]], [[1.0, 0.25]]],
        [[[0.75, 1.0]], [[0.0, 0.5]]],
    ])
    .unwrap();
    let norm = Normalize::new(vec![0.5, 0.25], vec![0.25, 0.5]).unwrap();
    let out = norm.apply_to(&x).unwrap();
    assert_eq!(out.shape(), &[2, 2, 1, 2]);
    assert_eq!(
        out.to_vec::<f32>(),
        vec![-2.0, 0.0, 1.5, 0.0, 1.0, 2.0, -0.5, 0.5]
    );

    // fit: channel 0 holds 0, .5, .75, 1 -> mean .5625; channel 1: 1, .25, 0, .5 -> .4375.
    let fit = Normalize::fit(&x).unwrap();
    let (m0, m1) = (0.5625f64, 0.4375f64);
    let var = |v: [f64; 4], m: f64| v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / 4.0;
    assert!((fit.mean()[0] - m0).abs() < 1e-12 && (fit.mean()[1] - m1).abs() < 1e-12);
    assert!((fit.std()[0] - var([0.0, 0.5, 0.75, 1.0], m0).sqrt()).abs() < 1e-12);
    assert!((fit.std()[1] - var([1.0, 0.25, 0.0, 0.5], m1).sqrt()).abs() < 1e-12);
    // After fitting, each channel has mean 0 and std 1.
    let z = Normalize::fit(&fit.apply_to(&x).unwrap()).unwrap();
    for ch in 0..2 {
        assert!(z.mean()[ch].abs() < 1e-6 && (z.std()[ch] - 1.0).abs() < 1e-6);
    }

    // Per-feature on (N, D), f64 kept as f64.
    let feats = Tensor::new([[1.0f64, 10.0], [3.0, 10.0]]).unwrap();
    let f = Normalize::fit(&feats).unwrap();
    assert_eq!(f.mean(), &[2.0, 10.0]);
    assert_eq!(f.std(), &[1.0, 1.0]); // the constant feature gets std 1
    assert_eq!(
        f.apply_to(&feats).unwrap().to_vec::<f64>(),
        vec![-1.0, 0.0, 1.0, 0.0]
    );

    let err = norm.apply_to(&Tensor::zeros(&[1, 3, 2, 2])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Normalize: expected (N, 2, ...) for 2 channels of statistics, got [1, 3, 2, 2]"
    );
    assert!(Normalize::fit(&Tensor::zeros(&[0, 3])).is_err());
}

#[test]
fn to_tensor_layouts_agree() {
    // One 2x2 image with 3 channels; the CHW bytes are the HWC bytes transposed.
    let hwc: Vec<u8> = (0..12).map(|i| i * 20).collect();
    let mut chw = vec![0u8; 12];
    for p in 0..4 {
        for c in 0..3 {
            chw[c * 4 + p] = hwc[p * 3 + c];
        }
    }
    let a = to_tensor(&hwc, [1, 3, 2, 2], Layout::Hwc).unwrap();
    let b = to_tensor(&chw, [1, 3, 2, 2], Layout::Chw).unwrap();
    assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>());
    assert_eq!(
        b.to_vec::<f32>(),
        chw.iter().map(|&v| v as f32 / 255.0).collect::<Vec<_>>()
    );
    assert_eq!(a.to_vec::<f32>()[1], 60.0 / 255.0); // red of pixel 1
}

#[test]
fn compose_chains_in_order_with_one_generator() {
    let x = labelled_images(16, 3, 8, 8);
    let pipeline = Compose::new()
        .then(RandomCrop::new(8, 2))
        .then(RandomHorizontalFlip::new(0.5).unwrap())
        .then(Normalize::new(vec![1.0; 3], vec![2.0; 3]).unwrap());
    let a = pipeline
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(11))
        .unwrap();
    let b = pipeline
        .apply(batch(x.clone()), &mut StdRng::seed_from_u64(11))
        .unwrap();
    assert_eq!(a.inputs.to_vec::<f32>(), b.inputs.to_vec::<f32>());
    // Same as applying the steps by hand with the same generator.
    let mut rng = StdRng::seed_from_u64(11);
    let s1 = RandomCrop::new(8, 2).apply(batch(x), &mut rng).unwrap();
    let s2 = RandomHorizontalFlip::new(0.5)
        .unwrap()
        .apply(s1, &mut rng)
        .unwrap();
    let s3 = Normalize::new(vec![1.0; 3], vec![2.0; 3])
        .unwrap()
        .apply(s2, &mut rng)
        .unwrap();
    assert_eq!(a.inputs.to_vec::<f32>(), s3.inputs.to_vec::<f32>());
}

#[test]
fn transforms_never_change_a_tensor_someone_else_holds() {
    let x = labelled_images(4, 3, 4, 4);
    let before = x.to_vec::<f32>();
    let norm = Normalize::new(vec![1.0; 3], vec![2.0; 3]).unwrap();
    let flip = RandomHorizontalFlip::new(1.0).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    // The batch shares x's data: results must be fresh tensors.
    let a = norm.apply(batch(x.clone()), &mut rng).unwrap();
    let b = flip.apply(batch(x.clone()), &mut rng).unwrap();
    assert_eq!(x.to_vec::<f32>(), before);
    let _ = (
        norm.apply_to(&x).unwrap(),
        RandomHorizontalFlip::flip_where(&x, &[true; 4]).unwrap(),
    );
    assert_eq!(x.to_vec::<f32>(), before);
    // And the values are the same as when the batch owns its data.
    let owned = || labelled_images(4, 3, 4, 4);
    assert_eq!(
        norm.apply(batch(owned()), &mut rng)
            .unwrap()
            .inputs
            .to_vec::<f32>(),
        a.inputs.to_vec::<f32>()
    );
    assert_eq!(
        flip.apply(batch(owned()), &mut rng)
            .unwrap()
            .inputs
            .to_vec::<f32>(),
        b.inputs.to_vec::<f32>()
    );
    assert_eq!(
        a.inputs.to_vec::<f32>(),
        before.iter().map(|v| (v - 1.0) / 2.0).collect::<Vec<_>>()
    );
}

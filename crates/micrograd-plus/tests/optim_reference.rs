//! Optimizers, LR schedules and gradient clipping against PyTorch.
//!
//! `tests/data/torch_optim.json` (written by `scripts/record_torch_optim.py`)
//! holds, for every optimizer in several configurations, fixed starting
//! parameters, the gradient given to each parameter at each of 5 steps (some
//! `null`: that parameter is skipped at that step) and PyTorch's parameters
//! after each step; for every schedule, PyTorch's lr after construction and
//! after each step; for clipping, gradients before and after and the total
//! norm. Values must agree to `|ours - torch| <= atol + rtol * |torch|`:
//!
//! | what            | rtol  | atol  |
//! |-----------------|-------|-------|
//! | f32 parameters  | 1e-6  | 1e-7  |
//! | f64 parameters  | 1e-12 | 1e-14 |
//! | learning rates  | 1e-12 | 1e-16 |
//!
//! The rest of the file checks what PyTorch cannot tell us: exact resume from
//! a saved state, the state-dict and argument errors, and convergence on a
//! small problem.

use micrograd_plus::optim::scheduler::{
    Anneal, CosineAnnealingLR, ExponentialLR, LinearWarmup, LrScheduler, MultiStepLR,
    OneCycleConfig, OneCycleLR, PlateauConfig, PlateauMode, ReduceLROnPlateau, StepLR,
    ThresholdMode,
};
use micrograd_plus::optim::{
    clip_grad_norm, clip_grad_value, Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig,
    Optimizer, RMSprop, RMSpropConfig, SGDConfig, SGD,
};
use micrograd_plus::{DType, Tensor};
use serde_json::Value;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/torch_optim.json");

fn reference() -> Value {
    let text = std::fs::read_to_string(REFERENCE).expect("tests/data/torch_optim.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn dtype_of(case: &Value) -> DType {
    match case["dtype"].as_str() {
        Some("f32") => DType::F32,
        Some("f64") => DType::F64,
        other => panic!("unknown dtype {other:?}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|x| x.as_u64().expect("dim") as usize)
        .collect()
}

/// A tensor of `dtype` from recorded data (f32 values are exact doubles of f32s).
fn tensor(v: &Value, dtype: DType) -> Tensor {
    let (shape, data) = (shape(v), floats(&v["data"]));
    match dtype {
        DType::F32 => Tensor::from_vec(data.iter().map(|&x| x as f32).collect(), &shape),
        DType::F64 => Tensor::from_vec(data, &shape),
    }
    .expect("recorded tensor")
}

fn f(config: &Value, key: &str) -> f64 {
    config[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} in {config}"))
}

fn b(config: &Value, key: &str) -> bool {
    config[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} in {config}"))
}

fn u(config: &Value, key: &str) -> usize {
    config[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {config}")) as usize
}

fn betas(config: &Value) -> (f64, f64) {
    let v = floats(&config["betas"]);
    (v[0], v[1])
}

/// Builds the optimizer a recorded case names, from its full config.
fn build_optimizer(kind: &str, c: &Value, params: Vec<Tensor>) -> Box<dyn Optimizer> {
    match kind {
        "SGD" => Box::new(
            SGD::new(
                params,
                SGDConfig {
                    lr: f(c, "lr"),
                    momentum: f(c, "momentum"),
                    dampening: f(c, "dampening"),
                    weight_decay: f(c, "weight_decay"),
                    nesterov: b(c, "nesterov"),
                },
            )
            .expect("valid SGD"),
        ),
        "Adam" => Box::new(
            Adam::new(
                params,
                AdamConfig {
                    lr: f(c, "lr"),
                    betas: betas(c),
                    eps: f(c, "eps"),
                    weight_decay: f(c, "weight_decay"),
                    amsgrad: b(c, "amsgrad"),
                },
            )
            .expect("valid Adam"),
        ),
        "AdamW" => Box::new(
            AdamW::new(
                params,
                AdamWConfig {
                    lr: f(c, "lr"),
                    betas: betas(c),
                    eps: f(c, "eps"),
                    weight_decay: f(c, "weight_decay"),
                    amsgrad: b(c, "amsgrad"),
                },
            )
            .expect("valid AdamW"),
        ),
        "RMSprop" => Box::new(
            RMSprop::new(
                params,
                RMSpropConfig {
                    lr: f(c, "lr"),
                    alpha: f(c, "alpha"),
                    eps: f(c, "eps"),
                    weight_decay: f(c, "weight_decay"),
                    momentum: f(c, "momentum"),
                    centered: b(c, "centered"),
                },
            )
            .expect("valid RMSprop"),
        ),
        "Adagrad" => Box::new(
            Adagrad::new(
                params,
                AdagradConfig {
                    lr: f(c, "lr"),
                    lr_decay: f(c, "lr_decay"),
                    weight_decay: f(c, "weight_decay"),
                    initial_accumulator_value: f(c, "initial_accumulator_value"),
                    eps: f(c, "eps"),
                },
            )
            .expect("valid Adagrad"),
        ),
        other => panic!("unknown optimizer {other}"),
    }
}

fn close(ours: f64, torch: f64, rtol: f64, atol: f64) -> bool {
    (ours - torch).abs() <= atol + rtol * torch.abs()
}

fn param_tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 => (1e-6, 1e-7),
        DType::F64 => (1e-12, 1e-14),
    }
}

/// Compares `ours` with recorded data, appending mismatches to `errors`.
fn compare(what: &str, ours: &Tensor, torch: &Value, dtype: DType, errors: &mut Vec<String>) {
    let (rtol, atol) = param_tolerance(dtype);
    if ours.shape() != shape(torch) {
        errors.push(format!(
            "{what}: shape {:?} vs {:?}",
            ours.shape(),
            shape(torch)
        ));
        return;
    }
    let (ours, theirs) = (ours.to_vec::<f64>(), floats(&torch["data"]));
    if let Some(j) = (0..ours.len()).find(|&j| !close(ours[j], theirs[j], rtol, atol)) {
        errors.push(format!(
            "{what}[{j}]: ours {} vs torch {} (diff {:e})",
            ours[j],
            theirs[j],
            (ours[j] - theirs[j]).abs()
        ));
    }
}

fn set_grads(params: &[Tensor], row: &Value, dtype: DType) {
    for (p, g) in params.iter().zip(row.as_array().expect("grads row")) {
        p.set_grad(if g.is_null() {
            None
        } else {
            Some(tensor(g, dtype))
        });
    }
}

#[test]
fn optimizers_match_pytorch() {
    let data = reference();
    let cases = data["optimizers"].as_array().expect("optimizers");
    assert!(cases.len() >= 30, "expected every optimizer configuration");
    let mut errors = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let dtype = dtype_of(case);
        let params: Vec<Tensor> = case["params"]
            .as_array()
            .expect("params")
            .iter()
            .map(|p| tensor(p, dtype).requires_grad(true))
            .collect();
        let kind = case["optimizer"].as_str().expect("optimizer");
        let mut opt = build_optimizer(kind, &case["config"], params.clone());
        let grads = case["grads"].as_array().expect("grads");
        let expected = case["expected"].as_array().expect("expected");
        for (k, (row, after)) in grads.iter().zip(expected).enumerate() {
            set_grads(&params, row, dtype);
            opt.step().expect("step");
            for (i, (p, e)) in params
                .iter()
                .zip(after.as_array().expect("row"))
                .enumerate()
            {
                compare(
                    &format!("{name} step {k} param {i}"),
                    p,
                    e,
                    dtype,
                    &mut errors,
                );
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// A fresh SGD at `lr` with no parameters: a schedule only needs its lr.
fn lr_holder(lr: f64) -> SGD {
    SGD::new(
        vec![],
        SGDConfig {
            lr,
            ..Default::default()
        },
    )
    .expect("valid lr")
}

/// Builds a recorded schedule; `after` configs nest for LinearWarmup.
fn build_scheduler(kind: &str, c: &Value, opt: &mut dyn Optimizer) -> Box<dyn LrScheduler> {
    match kind {
        "StepLR" => Box::new(StepLR::new(opt, u(c, "step_size"), f(c, "gamma")).expect("StepLR")),
        "MultiStepLR" => {
            let milestones: Vec<usize> = floats(&c["milestones"])
                .into_iter()
                .map(|m| m as usize)
                .collect();
            Box::new(MultiStepLR::new(opt, &milestones, f(c, "gamma")).expect("MultiStepLR"))
        }
        "ExponentialLR" => Box::new(ExponentialLR::new(opt, f(c, "gamma")).expect("ExponentialLR")),
        "CosineAnnealingLR" => Box::new(
            CosineAnnealingLR::new(opt, u(c, "t_max"), f(c, "eta_min")).expect("CosineAnnealingLR"),
        ),
        "LinearWarmup" => {
            let (start, warmup) = (f(c, "start_factor"), u(c, "warmup_steps"));
            match c.get("after") {
                None => Box::new(LinearWarmup::new(opt, start, warmup).expect("LinearWarmup")),
                Some(a) => {
                    let after = build_scheduler(a["scheduler"].as_str().expect("kind"), a, opt);
                    Box::new(
                        LinearWarmup::followed_by(opt, start, warmup, after).expect("followed_by"),
                    )
                }
            }
        }
        "OneCycleLR" => {
            let d = OneCycleConfig::default();
            let cfg = OneCycleConfig {
                pct_start: c["pct_start"].as_f64().unwrap_or(d.pct_start),
                anneal: match c["anneal"].as_str() {
                    None | Some("cos") => Anneal::Cos,
                    Some("linear") => Anneal::Linear,
                    Some(other) => panic!("anneal {other}"),
                },
                div_factor: c["div_factor"].as_f64().unwrap_or(d.div_factor),
                final_div_factor: c["final_div_factor"].as_f64().unwrap_or(d.final_div_factor),
                three_phase: c["three_phase"].as_bool().unwrap_or(d.three_phase),
            };
            Box::new(
                OneCycleLR::new(opt, f(c, "max_lr"), u(c, "total_steps"), cfg).expect("OneCycleLR"),
            )
        }
        "ReduceLROnPlateau" => {
            let cfg = PlateauConfig {
                mode: match c["mode"].as_str() {
                    Some("min") => PlateauMode::Min,
                    Some("max") => PlateauMode::Max,
                    other => panic!("mode {other:?}"),
                },
                factor: f(c, "factor"),
                patience: u(c, "patience"),
                threshold: f(c, "threshold"),
                threshold_mode: match c["threshold_mode"].as_str() {
                    Some("rel") => ThresholdMode::Rel,
                    Some("abs") => ThresholdMode::Abs,
                    other => panic!("threshold_mode {other:?}"),
                },
                cooldown: u(c, "cooldown"),
                min_lr: f(c, "min_lr"),
                eps: f(c, "eps"),
            };
            Box::new(ReduceLROnPlateau::new(opt, cfg).expect("ReduceLROnPlateau"))
        }
        other => panic!("unknown scheduler {other}"),
    }
}

/// The epoch past which our cosine is held at `eta_min` while PyTorch's
/// climbs back: `(first held epoch, eta_min)`.
fn cosine_hold(c: &Value) -> Option<(usize, f64)> {
    match c.get("after") {
        Some(a) if a["scheduler"] == "CosineAnnealingLR" => {
            Some((u(c, "warmup_steps") + u(a, "t_max") + 1, f(a, "eta_min")))
        }
        Some(_) => None,
        None => c.get("t_max").map(|_| (u(c, "t_max") + 1, f(c, "eta_min"))),
    }
}

#[test]
fn schedulers_match_pytorch() {
    let data = reference();
    let cases = data["schedulers"].as_array().expect("schedulers");
    let mut errors = Vec::new();
    let mut held = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let kind = case["scheduler"].as_str().expect("scheduler");
        let config = &case["config"];
        let lrs = floats(&case["lrs"]);
        let mut opt = lr_holder(f(case, "base_lr"));
        let mut sched = build_scheduler(kind, config, &mut opt);
        let metrics = case.get("metrics").map(floats);
        let hold = if kind == "CosineAnnealingLR" || kind == "LinearWarmup" {
            cosine_hold(config)
        } else {
            None
        };
        let mut risen = 0; // epochs past t_max where PyTorch's lr is above eta_min
        for (epoch, &torch_lr) in lrs.iter().enumerate() {
            if epoch > 0 {
                match &metrics {
                    Some(m) => sched.step_with_metric(m[epoch - 1], &mut opt),
                    None => sched.step(&mut opt),
                }
            }
            assert_eq!(sched.last_epoch(), epoch, "{name}");
            let ours = opt.lr();
            assert_eq!(sched.get_lr(), ours, "{name}: get_lr is the lr it set");
            match hold {
                // Our documented behaviour: held at eta_min past t_max (PyTorch rises again).
                Some((from, eta_min)) if epoch >= from => {
                    held += 1;
                    if ours != eta_min {
                        errors.push(format!(
                            "{name} epoch {epoch}: {ours}, not held at {eta_min}"
                        ));
                    }
                    risen += usize::from(torch_lr > eta_min);
                }
                _ => {
                    if !close(ours, torch_lr, 1e-12, 1e-16) {
                        errors.push(format!(
                            "{name} epoch {epoch}: ours {ours} vs torch {torch_lr}"
                        ));
                    }
                }
            }
        }
        if hold.is_some() && risen == 0 {
            errors.push(format!(
                "{name}: expected PyTorch's lr to climb back past t_max"
            ));
        }
        if kind == "OneCycleLR" {
            // Past the end: held at the final lr (PyTorch raises).
            let last = opt.lr();
            for _ in 0..3 {
                sched.step(&mut opt);
                if opt.lr() != last {
                    errors.push(format!("{name}: lr {} past the end, not {last}", opt.lr()));
                }
            }
        }
    }
    assert!(held >= 15, "the cosine cases run past t_max");
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn clipping_matches_pytorch() {
    let data = reference();
    let mut errors = Vec::new();
    for case in data["clip"].as_array().expect("clip") {
        let name = case["name"].as_str().expect("name");
        let dtype = dtype_of(case);
        let params: Vec<Tensor> = case["grads"]
            .as_array()
            .expect("grads")
            .iter()
            .map(|g| {
                let p = Tensor::zeros(&shape(g)).to_dtype(dtype).requires_grad(true);
                p.set_grad(Some(tensor(g, dtype)));
                p
            })
            .collect();
        match case["kind"].as_str() {
            Some("norm") => {
                let norm_type = match &case["norm_type"] {
                    Value::String(s) if s == "inf" => f64::INFINITY,
                    v => v.as_f64().expect("norm_type"),
                };
                let total = clip_grad_norm(&params, f(case, "max_norm"), norm_type).expect("clip");
                let (rtol, atol) = param_tolerance(dtype);
                if !close(total, f(case, "total_norm"), rtol, atol) {
                    errors.push(format!("{name}: total {total} vs {}", case["total_norm"]));
                }
            }
            Some("value") => clip_grad_value(&params, f(case, "clip")).expect("clip"),
            other => panic!("kind {other:?}"),
        }
        let clipped = case["clipped"].as_array().expect("clipped");
        for (i, (p, e)) in params.iter().zip(clipped).enumerate() {
            let g = p.grad().expect("grad kept");
            compare(&format!("{name} grad {i}"), &g, e, dtype, &mut errors);
        }
    }
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Exact resume
// ---------------------------------------------------------------------------

/// Deterministic gradients for step `k` of parameter `i`, varied in scale.
fn grad_for(p: &Tensor, k: usize, i: usize) -> Tensor {
    let n = p.numel();
    let scale = [1.0, 0.1, 2.0, 0.05, 1.0, 0.3][k % 6];
    let v: Vec<f64> = (0..n)
        .map(|j| ((j * 7 + i * 13 + k * 29) as f64 * 0.37).sin() * scale)
        .collect();
    Tensor::from_vec(v, p.shape())
        .expect("shape")
        .to_dtype(p.dtype())
}

fn fresh_params(dtype: DType) -> Vec<Tensor> {
    [vec![3usize, 4], vec![5], vec![2, 2]]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n: usize = s.iter().product();
            let v: Vec<f64> = (0..n).map(|j| ((j + 3 * i) as f64 * 0.61).cos()).collect();
            Tensor::from_vec(v, s)
                .expect("shape")
                .to_dtype(dtype)
                .requires_grad(true)
        })
        .collect()
}

/// One step `k`; parameter 2 gets no gradient at step 1 (it is skipped).
fn step_with(opt: &mut dyn Optimizer, params: &[Tensor], k: usize) {
    for (i, p) in params.iter().enumerate() {
        p.set_grad((k != 1 || i != 2).then(|| grad_for(p, k, i)));
    }
    opt.step().expect("step");
}

fn bits(params: &[Tensor]) -> Vec<Vec<u64>> {
    params
        .iter()
        .map(|p| p.to_vec::<f64>().iter().map(|x| x.to_bits()).collect())
        .collect()
}

type Factory = fn(Vec<Tensor>) -> Box<dyn Optimizer>;

fn factories() -> Vec<(&'static str, Factory)> {
    vec![
        ("SGD nesterov", |p| {
            let c = SGDConfig {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                weight_decay: 0.01,
                ..Default::default()
            };
            Box::new(SGD::new(p, c).expect("SGD"))
        }),
        ("Adam amsgrad", |p| {
            let c = AdamConfig {
                lr: 0.01,
                amsgrad: true,
                weight_decay: 0.1,
                ..Default::default()
            };
            Box::new(Adam::new(p, c).expect("Adam"))
        }),
        ("AdamW", |p| {
            Box::new(AdamW::new(p, AdamWConfig::default()).expect("AdamW"))
        }),
        ("RMSprop centered momentum", |p| {
            let c = RMSpropConfig {
                centered: true,
                momentum: 0.5,
                ..Default::default()
            };
            Box::new(RMSprop::new(p, c).expect("RMSprop"))
        }),
        ("Adagrad", |p| {
            let c = AdagradConfig {
                lr_decay: 0.1,
                initial_accumulator_value: 0.2,
                ..Default::default()
            };
            Box::new(Adagrad::new(p, c).expect("Adagrad"))
        }),
    ]
}

#[test]
fn optimizer_resume_is_bit_identical() {
    for dtype in [DType::F32, DType::F64] {
        for (name, make) in factories() {
            // Uninterrupted: 6 steps, the lr changed by hand after step 3.
            let params = fresh_params(dtype);
            let mut opt = make(params.clone());
            for k in 0..6 {
                if k == 3 {
                    opt.set_lr(opt.lr() * 0.5);
                }
                step_with(opt.as_mut(), &params, k);
            }
            let expected = bits(&params);

            // Interrupted after 3 steps: save parameters and state, rebuild, load.
            let params = fresh_params(dtype);
            let mut opt = make(params.clone());
            for k in 0..3 {
                step_with(opt.as_mut(), &params, k);
            }
            opt.set_lr(opt.lr() * 0.5);
            let state = opt.state_dict();
            let saved: Vec<Tensor> = params.iter().map(Tensor::detach).collect();
            drop(opt);
            let params: Vec<Tensor> = saved.into_iter().map(|p| p.requires_grad(true)).collect();
            let mut opt = make(params.clone());
            opt.load_state_dict(&state).expect("load");
            assert_eq!(opt.state_dict().len(), state.len(), "{name}");
            for k in 3..6 {
                step_with(opt.as_mut(), &params, k);
            }
            assert_eq!(bits(&params), expected, "{name} {dtype:?}");
        }
    }
}

#[test]
fn optimizer_state_dict_names_and_values() {
    let params = fresh_params(DType::F32);
    let cfg = AdamConfig {
        amsgrad: true,
        ..Default::default()
    };
    let mut opt = Adam::new(params.clone(), cfg).expect("Adam");
    assert_eq!(names(&opt.state_dict()), ["lr", "step"]);
    step_with(&mut opt, &params, 1); // parameter 2 has no gradient: no state yet
    let state = opt.state_dict();
    assert_eq!(
        names(&state),
        [
            "lr",
            "step",
            "state.0.step",
            "state.0.exp_avg",
            "state.0.exp_avg_sq",
            "state.0.max_exp_avg_sq",
            "state.1.step",
            "state.1.exp_avg",
            "state.1.exp_avg_sq",
            "state.1.max_exp_avg_sq",
        ]
    );
    let get = |n: &str| state.iter().find(|(k, _)| k == n).expect("entry").1.clone();
    assert_eq!(
        (
            get("lr").ndim(),
            get("lr").dtype(),
            get("lr").item().expect("lr")
        ),
        (0, DType::F64, 1e-3)
    );
    assert_eq!(get("state.0.step").item().expect("step"), 1.0);
    // After one step from zero, exp_avg = (1 - beta1) * g exactly as f32 arithmetic gives.
    let g = grad_for(&params[1], 1, 1).to_vec::<f32>();
    let m: Vec<f32> = g.iter().map(|&x| 0.0 + 0.1f32 * (x - 0.0)).collect();
    assert_eq!(get("state.1.exp_avg").to_vec::<f32>(), m);
    assert_eq!(get("state.1.exp_avg").shape(), &[5]);
}

fn names(state: &[(String, Tensor)]) -> Vec<&str> {
    state.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn optimizer_load_rejects_bad_state() {
    let params = fresh_params(DType::F32);
    let mut opt = SGD::new(
        params.clone(),
        SGDConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        },
    )
    .expect("SGD");
    step_with(&mut opt, &params, 0);
    let good = opt.state_dict();
    let err = |state: Vec<(String, Tensor)>, opt: &mut SGD| {
        opt.load_state_dict(&state)
            .expect_err("bad state")
            .to_string()
    };

    let missing: Vec<_> = good.iter().filter(|(k, _)| k != "lr").cloned().collect();
    assert_eq!(
        err(missing, &mut opt),
        "SGD: state dict is missing entry \"lr\""
    );

    let mut extra = good.clone();
    extra.push(("state.7.momentum_buffer".into(), Tensor::zeros(&[1])));
    assert_eq!(
        err(extra, &mut opt),
        "SGD: state dict has unexpected entry \"state.7.momentum_buffer\""
    );

    let mut duplicated = good.clone();
    duplicated.push(good[0].clone());
    assert_eq!(
        err(duplicated, &mut opt),
        "SGD: state dict has entry \"lr\" twice"
    );

    let mut wrong_shape = good.clone();
    wrong_shape[2].1 = Tensor::zeros(&[4, 3]);
    assert_eq!(
        err(wrong_shape, &mut opt),
        "SGD: state dict entry \"state.0.momentum_buffer\" has shape [4, 3] but the parameter has shape [3, 4]"
    );

    let mut wrong_dtype = good.clone();
    wrong_dtype[2].1 = Tensor::zeros(&[3, 4]).to_dtype(DType::F64);
    assert_eq!(
        err(wrong_dtype, &mut opt),
        "SGD: state dict entry \"state.0.momentum_buffer\" is float64 but the parameter is float32"
    );

    let mut not_scalar = good.clone();
    not_scalar[1].1 = Tensor::zeros(&[2]);
    assert_eq!(
        err(not_scalar, &mut opt),
        "SGD: state dict entry \"step\" should be a scalar but has shape [2]"
    );

    let mut fractional = good.clone();
    fractional[1].1 = Tensor::scalar(1.5f64);
    assert_eq!(
        err(fractional, &mut opt),
        "SGD: state dict entry \"step\" should be a whole number >= 0, got 1.5"
    );

    // A failed load leaves the optimizer as it was.
    assert_eq!(bits_of_state(&opt.state_dict()), bits_of_state(&good));

    // Adam with amsgrad needs max_exp_avg_sq for every parameter with state.
    let mut adam = Adam::new(
        params.clone(),
        AdamConfig {
            amsgrad: true,
            ..Default::default()
        },
    )
    .expect("Adam");
    step_with(&mut adam, &params, 0);
    let partial: Vec<_> = adam
        .state_dict()
        .into_iter()
        .filter(|(k, _)| k != "state.1.max_exp_avg_sq")
        .collect();
    let mut other = Adam::new(
        params.clone(),
        AdamConfig {
            amsgrad: true,
            ..Default::default()
        },
    )
    .expect("Adam");
    assert_eq!(
        other
            .load_state_dict(&partial)
            .expect_err("partial")
            .to_string(),
        "Adam: state dict is missing entry \"state.1.max_exp_avg_sq\""
    );
}

fn bits_of_state(state: &[(String, Tensor)]) -> Vec<(String, Vec<u64>)> {
    state
        .iter()
        .map(|(k, t)| {
            (
                k.clone(),
                t.to_vec::<f64>().iter().map(|x| x.to_bits()).collect(),
            )
        })
        .collect()
}

#[test]
fn scheduler_resume_continues_exactly() {
    type Make = fn(&mut dyn Optimizer) -> Box<dyn LrScheduler>;
    let makers: Vec<(&str, Make)> = vec![
        ("StepLR", |o| {
            Box::new(StepLR::new(o, 3, 0.5).expect("StepLR"))
        }),
        ("MultiStepLR", |o| {
            Box::new(MultiStepLR::new(o, &[2, 5], 0.1).expect("MultiStepLR"))
        }),
        ("ExponentialLR", |o| {
            Box::new(ExponentialLR::new(o, 0.9).expect("ExponentialLR"))
        }),
        ("CosineAnnealingLR", |o| {
            Box::new(CosineAnnealingLR::new(o, 6, 0.01).expect("cos"))
        }),
        ("LinearWarmup+cos", |o| {
            let after = Box::new(CosineAnnealingLR::new(o, 6, 0.0).expect("cos"));
            Box::new(LinearWarmup::followed_by(o, 0.1, 3, after).expect("warmup"))
        }),
        ("OneCycleLR", |o| {
            Box::new(OneCycleLR::new(o, 1.0, 10, OneCycleConfig::default()).expect("1cycle"))
        }),
        ("ReduceLROnPlateau", |o| {
            let c = PlateauConfig {
                patience: 1,
                cooldown: 1,
                factor: 0.5,
                ..Default::default()
            };
            Box::new(ReduceLROnPlateau::new(o, c).expect("plateau"))
        }),
    ];
    let metric = |k: usize| [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8][k];
    for (name, make) in makers {
        let mut opt = lr_holder(0.1);
        let mut sched = make(&mut opt);
        let mut full = vec![];
        for k in 0..12 {
            sched.step_with_metric(metric(k), &mut opt);
            full.push(opt.lr().to_bits());
        }

        let mut opt = lr_holder(0.1);
        let mut sched = make(&mut opt);
        for k in 0..5 {
            sched.step_with_metric(metric(k), &mut opt);
        }
        let (state, opt_state) = (sched.state_dict(), opt.state_dict());
        let mut opt = lr_holder(0.1);
        let mut sched = make(&mut opt);
        sched.load_state_dict(&state).expect("load scheduler");
        opt.load_state_dict(&opt_state).expect("load optimizer");
        assert_eq!(sched.last_epoch(), 5, "{name}");
        let mut resumed = full[..5].to_vec();
        for k in 5..12 {
            sched.step_with_metric(metric(k), &mut opt);
            resumed.push(opt.lr().to_bits());
        }
        assert_eq!(resumed, full, "{name}");

        let mut extra = state.clone();
        extra.push(("bogus".into(), Tensor::scalar(0.0f64)));
        let err = sched
            .load_state_dict(&extra)
            .expect_err("extra")
            .to_string();
        assert!(
            err.ends_with("state dict has unexpected entry \"bogus\""),
            "{name}: {err}"
        );
        let err = sched
            .load_state_dict(&state[1..])
            .expect_err("missing")
            .to_string();
        assert!(
            err.contains("state dict is missing entry \"last_epoch\""),
            "{name}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Skipping, argument checks, convergence
// ---------------------------------------------------------------------------

#[test]
fn parameters_without_grad_or_requires_grad_are_skipped() {
    let frozen = Tensor::new([1.0f32, 2.0]).expect("t"); // requires_grad false
    frozen.set_grad(Some(Tensor::new([1.0f32, 1.0]).expect("t")));
    let no_grad = Tensor::new([3.0f32]).expect("t").requires_grad(true);
    let live = Tensor::new([4.0f32]).expect("t").requires_grad(true);
    live.set_grad(Some(Tensor::new([1.0f32]).expect("t")));
    let params = vec![frozen.clone(), no_grad.clone(), live.clone()];
    let mut opt = Adam::new(
        params,
        AdamConfig {
            lr: 0.5,
            ..Default::default()
        },
    )
    .expect("Adam");
    opt.step().expect("step");
    assert_eq!(frozen.to_vec::<f32>(), vec![1.0, 2.0]);
    assert_eq!(no_grad.to_vec::<f32>(), vec![3.0]);
    assert!((live.item().expect("item") - 3.5).abs() < 1e-6);
    assert_eq!(
        names(&opt.state_dict())[2..],
        ["state.2.step", "state.2.exp_avg", "state.2.exp_avg_sq"]
    );
    opt.zero_grad();
    assert!(frozen.grad().is_none() && live.grad().is_none());
}

#[test]
fn bad_gradients_and_parameter_lists_are_errors() {
    let p = Tensor::zeros(&[2, 2]).requires_grad(true);
    let mut opt = SGD::new(vec![p.clone()], SGDConfig::default()).expect("SGD");
    p.set_grad(Some(Tensor::zeros(&[4])));
    assert_eq!(
        opt.step().expect_err("shape").to_string(),
        "SGD: parameter 0 has shape [2, 2] but its gradient has shape [4]"
    );
    p.set_grad(Some(Tensor::zeros(&[2, 2]).to_dtype(DType::F64)));
    assert_eq!(
        opt.step().expect_err("dtype").to_string(),
        "SGD: parameter 0 is float32 but its gradient is float64"
    );
    p.set_grad(Some(p.clone()));
    assert_eq!(
        opt.step().expect_err("self").to_string(),
        "SGD: the gradient of parameter 0 is the parameter itself"
    );
    let q = Tensor::zeros(&[1]).requires_grad(true);
    p.set_grad(None); // drop the self-reference
    let err = err_of(Adam::new(
        vec![q.clone(), p.clone(), q],
        AdamConfig::default(),
    ));
    assert_eq!(err, "Adam: parameter 2 is the same tensor as parameter 0");
}

fn err_of<T>(r: micrograd_plus::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_optimizer_settings_are_named() {
    let sgd = |c: SGDConfig| err_of(SGD::new(vec![], c));
    let d = SGDConfig::default();
    assert_eq!(
        sgd(SGDConfig { lr: -0.1, ..d }),
        "SGD: invalid lr -0.1: must be a finite number >= 0"
    );
    assert_eq!(
        sgd(SGDConfig { lr: f64::NAN, ..d }),
        "SGD: invalid lr NaN: must be a finite number >= 0"
    );
    assert_eq!(
        sgd(SGDConfig {
            momentum: -0.9,
            ..d
        }),
        "SGD: invalid momentum -0.9: must be a finite number >= 0"
    );
    assert_eq!(
        sgd(SGDConfig {
            weight_decay: -1e-4,
            ..d
        }),
        "SGD: invalid weight_decay -0.0001: must be a finite number >= 0"
    );
    assert_eq!(
        sgd(SGDConfig { nesterov: true, ..d }),
        "SGD: invalid nesterov with momentum 0 and dampening 0: Nesterov momentum requires a momentum and zero dampening"
    );
    assert_eq!(
        sgd(SGDConfig { nesterov: true, momentum: 0.9, dampening: 0.1, ..d }),
        "SGD: invalid nesterov with momentum 0.9 and dampening 0.1: Nesterov momentum requires a momentum and zero dampening"
    );

    let adam = |c: AdamConfig| err_of(Adam::new(vec![], c));
    let d = AdamConfig::default();
    assert_eq!(
        adam(AdamConfig { lr: -1.0, ..d }),
        "Adam: invalid lr -1: must be a finite number >= 0"
    );
    assert_eq!(
        adam(AdamConfig {
            betas: (1.5, 0.999),
            ..d
        }),
        "Adam: invalid beta1 1.5: must be in [0, 1)"
    );
    assert_eq!(
        adam(AdamConfig {
            betas: (-0.1, 0.999),
            ..d
        }),
        "Adam: invalid beta1 -0.1: must be in [0, 1)"
    );
    assert_eq!(
        adam(AdamConfig {
            betas: (0.9, 1.0),
            ..d
        }),
        "Adam: invalid beta2 1: must be in [0, 1)"
    );
    assert_eq!(
        adam(AdamConfig { eps: 0.0, ..d }),
        "Adam: invalid eps 0: must be a finite number > 0"
    );
    assert_eq!(
        adam(AdamConfig { eps: -1e-8, ..d }),
        "Adam: invalid eps -0.00000001: must be a finite number > 0"
    );
    assert_eq!(
        adam(AdamConfig {
            weight_decay: -0.01,
            ..d
        }),
        "Adam: invalid weight_decay -0.01: must be a finite number >= 0"
    );

    let adamw = |c: AdamWConfig| err_of(AdamW::new(vec![], c));
    let d = AdamWConfig::default();
    assert_eq!(
        adamw(AdamWConfig {
            betas: (0.9, 2.0),
            ..d
        }),
        "AdamW: invalid beta2 2: must be in [0, 1)"
    );
    assert_eq!(
        adamw(AdamWConfig {
            lr: f64::INFINITY,
            ..d
        }),
        "AdamW: invalid lr inf: must be a finite number >= 0"
    );

    let rms = |c: RMSpropConfig| err_of(RMSprop::new(vec![], c));
    let d = RMSpropConfig::default();
    assert_eq!(
        rms(RMSpropConfig { lr: -0.01, ..d }),
        "RMSprop: invalid lr -0.01: must be a finite number >= 0"
    );
    assert_eq!(
        rms(RMSpropConfig { alpha: -0.5, ..d }),
        "RMSprop: invalid alpha -0.5: must be in [0, 1]"
    );
    assert_eq!(
        rms(RMSpropConfig { eps: 0.0, ..d }),
        "RMSprop: invalid eps 0: must be a finite number > 0"
    );
    assert_eq!(
        rms(RMSpropConfig {
            momentum: -1.0,
            ..d
        }),
        "RMSprop: invalid momentum -1: must be a finite number >= 0"
    );
    assert_eq!(
        rms(RMSpropConfig {
            weight_decay: -1.0,
            ..d
        }),
        "RMSprop: invalid weight_decay -1: must be a finite number >= 0"
    );

    let ada = |c: AdagradConfig| err_of(Adagrad::new(vec![], c));
    let d = AdagradConfig::default();
    assert_eq!(
        ada(AdagradConfig { lr: -1.0, ..d }),
        "Adagrad: invalid lr -1: must be a finite number >= 0"
    );
    assert_eq!(
        ada(AdagradConfig { eps: 0.0, ..d }),
        "Adagrad: invalid eps 0: must be a finite number > 0"
    );
    assert_eq!(
        ada(AdagradConfig {
            weight_decay: -1.0,
            ..d
        }),
        "Adagrad: invalid weight_decay -1: must be a finite number >= 0"
    );
}

#[test]
fn invalid_scheduler_settings_are_named() {
    let mut o = lr_holder(0.1);
    assert_eq!(
        err_of(StepLR::new(&mut o, 0, 0.1)),
        "StepLR: invalid step_size 0: must be >= 1"
    );
    assert_eq!(
        err_of(StepLR::new(&mut o, 3, -0.1)),
        "StepLR: invalid gamma -0.1: must be a finite number > 0"
    );
    assert_eq!(
        err_of(MultiStepLR::new(&mut o, &[3, 0], 0.1)),
        "MultiStepLR: invalid milestone 0: must be >= 1"
    );
    assert_eq!(
        err_of(ExponentialLR::new(&mut o, f64::NAN)),
        "ExponentialLR: invalid gamma NaN: must be a finite number > 0"
    );
    assert_eq!(
        err_of(CosineAnnealingLR::new(&mut o, 0, 0.0)),
        "CosineAnnealingLR: invalid t_max 0: must be >= 1"
    );
    assert_eq!(
        err_of(CosineAnnealingLR::new(&mut o, 5, -1.0)),
        "CosineAnnealingLR: invalid eta_min -1: must be a finite number >= 0"
    );
    assert_eq!(
        err_of(LinearWarmup::new(&mut o, 1.5, 5)),
        "LinearWarmup: invalid start_factor 1.5: must be in (0, 1]"
    );
    assert_eq!(
        err_of(LinearWarmup::new(&mut o, 0.5, 0)),
        "LinearWarmup: invalid warmup_steps 0: must be >= 1"
    );
    let d = OneCycleConfig::default();
    assert_eq!(
        err_of(OneCycleLR::new(&mut o, 0.0, 10, d)),
        "OneCycleLR: invalid max_lr 0: must be a finite number > 0"
    );
    assert_eq!(
        err_of(OneCycleLR::new(&mut o, 1.0, 0, d)),
        "OneCycleLR: invalid total_steps 0: must be >= 1"
    );
    assert_eq!(
        err_of(OneCycleLR::new(
            &mut o,
            1.0,
            10,
            OneCycleConfig {
                pct_start: 1.5,
                ..d
            }
        )),
        "OneCycleLR: invalid pct_start 1.5: must be in [0, 1]"
    );
    assert_eq!(
        err_of(OneCycleLR::new(
            &mut o,
            1.0,
            10,
            OneCycleConfig {
                pct_start: 0.1,
                ..d
            }
        )),
        "OneCycleLR: invalid pct_start 0.1: leaves phase 1 of 10 steps empty"
    );
    assert_eq!(
        err_of(OneCycleLR::new(
            &mut o,
            1.0,
            10,
            OneCycleConfig {
                div_factor: 0.0,
                ..d
            }
        )),
        "OneCycleLR: invalid div_factor 0: must be a finite number > 0"
    );
    let p = PlateauConfig::default();
    assert_eq!(
        err_of(ReduceLROnPlateau::new(
            &mut o,
            PlateauConfig { factor: 1.0, ..p }
        )),
        "ReduceLROnPlateau: invalid factor 1: must be in [0, 1)"
    );
    assert_eq!(
        err_of(ReduceLROnPlateau::new(
            &mut o,
            PlateauConfig { min_lr: -1.0, ..p }
        )),
        "ReduceLROnPlateau: invalid min_lr -1: must be a finite number >= 0"
    );
    assert_eq!(
        err_of(ReduceLROnPlateau::new(
            &mut o,
            PlateauConfig {
                threshold: -0.1,
                ..p
            }
        )),
        "ReduceLROnPlateau: invalid threshold -0.1: must be a finite number >= 0"
    );
    // A failed construction leaves the lr alone.
    assert_eq!(o.lr(), 0.1);
}

#[test]
fn invalid_clip_settings_are_named() {
    let p = Tensor::zeros(&[2]).requires_grad(true);
    p.set_grad(Some(Tensor::ones(&[2])));
    let ps = [p.clone()];
    assert_eq!(
        err_of(clip_grad_norm(&ps, -1.0, 2.0)),
        "clip_grad_norm: invalid max_norm -1: must be >= 0"
    );
    assert_eq!(
        err_of(clip_grad_norm(&ps, 1.0, f64::NEG_INFINITY)),
        "clip_grad_norm: invalid norm_type -inf: must be > 0 (finite) or inf"
    );
    assert_eq!(
        err_of(clip_grad_value(&ps, f64::NAN)),
        "clip_grad_value: invalid clip NaN: must be >= 0"
    );
    // Nothing was clipped by the failed calls; no gradients at all gives norm 0.
    assert_eq!(p.grad().expect("grad").to_vec::<f32>(), vec![1.0, 1.0]);
    let bare = Tensor::zeros(&[2]).requires_grad(true);
    assert_eq!(clip_grad_norm(&[bare], 1.0, 2.0).expect("no grads"), 0.0);
}

/// Every optimizer drives `sum((w - target)^2)` close to 0 through the
/// autograd engine, in f32 and f64.
#[test]
fn optimizers_minimise_a_quadratic() {
    let target = [1.5, -2.0, 0.5];
    type Make = fn(Vec<Tensor>) -> Box<dyn Optimizer>;
    let makers: Vec<(&str, Make, usize)> = vec![
        (
            "SGD",
            |p| {
                Box::new(
                    SGD::new(
                        p,
                        SGDConfig {
                            lr: 0.05,
                            momentum: 0.9,
                            ..Default::default()
                        },
                    )
                    .expect("SGD"),
                )
            },
            300,
        ),
        (
            "Adam",
            |p| {
                Box::new(
                    Adam::new(
                        p,
                        AdamConfig {
                            lr: 0.05,
                            ..Default::default()
                        },
                    )
                    .expect("Adam"),
                )
            },
            500,
        ),
        (
            "AdamW",
            |p| {
                Box::new(
                    AdamW::new(
                        p,
                        AdamWConfig {
                            lr: 0.05,
                            weight_decay: 0.0,
                            ..Default::default()
                        },
                    )
                    .expect("AdamW"),
                )
            },
            500,
        ),
        (
            "RMSprop",
            |p| {
                Box::new(
                    RMSprop::new(
                        p,
                        RMSpropConfig {
                            lr: 0.01,
                            ..Default::default()
                        },
                    )
                    .expect("RMSprop"),
                )
            },
            500,
        ),
        (
            "Adagrad",
            |p| {
                Box::new(
                    Adagrad::new(
                        p,
                        AdagradConfig {
                            lr: 0.5,
                            ..Default::default()
                        },
                    )
                    .expect("Adagrad"),
                )
            },
            500,
        ),
    ];
    for dtype in [DType::F32, DType::F64] {
        for (name, make, steps) in &makers {
            let w = Tensor::zeros(&[3]).to_dtype(dtype).requires_grad(true);
            let t = Tensor::new(target).expect("target").to_dtype(dtype);
            let mut opt = make(vec![w.clone()]);
            for _ in 0..*steps {
                opt.zero_grad();
                let d = w.sub(&t).expect("sub");
                (&d * &d).sum().backward().expect("backward");
                opt.step().expect("step");
            }
            let got = w.to_vec::<f64>();
            for (g, want) in got.iter().zip(target) {
                assert!((g - want).abs() < 1e-2, "{name} {dtype:?}: {got:?}");
            }
        }
    }
}

/// The trainer may move optimizers and schedules to another thread.
#[test]
fn optimizers_and_schedules_are_send() {
    fn send<T: Send>() {}
    send::<SGD>();
    send::<Adam>();
    send::<AdamW>();
    send::<RMSprop>();
    send::<Adagrad>();
    send::<Box<dyn Optimizer>>();
    send::<Box<dyn LrScheduler>>();
    send::<LinearWarmup>();
    send::<ReduceLROnPlateau>();
}

//! The layers issue 14 added, against PyTorch 2.15: replays the cases that
//! `scripts/record_torch_layers.py` ran in PyTorch
//! (`tests/data/torch_layers.json`): conv1d, conv_transpose2d, padding
//! 'same'/'valid', 1-d pooling, dilation and ceil mode in pooling,
//! adaptive max pooling (with indices), interpolate, group and instance
//! norm. Each case must be an error where PyTorch raised, and otherwise
//! match every output's shape and elements and every input's gradient for
//! PyTorch's random upstream gradient, in f32 and f64.
//!
//! Pooling indices are PyTorch's int64; ours hold the same whole numbers
//! in the input's dtype, so only their values are compared.

mod torch_fixture;

use micrograd_plus::nn::{
    AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, BatchNormConfig, Conv1d, Conv1dConfig, Conv2d,
    ConvTranspose2d, GroupNorm, InstanceNorm2d, MaxPool1d, MaxPool2d, Module, Upsample,
};
use micrograd_plus::tensor::ops::conv_padding::ConvPadding;
use micrograd_plus::tensor::ops::conv_transpose::ConvTranspose;
use micrograd_plus::tensor::ops::interpolate::InterpolateMode;
use micrograd_plus::{DType, Result, Tensor};
use serde_json::Value;
use torch_fixture::{close, number, numbers, usizes};

const CASES: &str = include_str!("data/torch_layers.json");

/// Runs one recorded op on our engine; the first output is the one the
/// upstream gradient flows into. Arguments the recorder left out are
/// PyTorch's defaults.
fn apply(op: &str, args: &Value, x: &[Tensor]) -> Result<Vec<Tensor>> {
    let f = |k: &str| number(&args[k]);
    let n = |k: &str, default: usize| {
        args.get(k)
            .map_or(default, |v| v.as_u64().expect("size") as usize)
    };
    let b = |k: &str| args[k].as_bool().expect("bool argument");
    let pair = |k: &str, default: usize| {
        args.get(k).map_or((default, default), |v| {
            let v = usizes(v);
            (v[0], v[1])
        })
    };
    let padding_rule = || match args.get("padding").and_then(Value::as_str) {
        Some("valid") => ConvPadding::Valid,
        _ => ConvPadding::Same,
    };
    let one = |t: Tensor| Ok(vec![t]);
    let two = |(v, i): (Tensor, Tensor)| Ok(vec![v, i]);
    match op {
        "conv1d" => one(x[0].conv1d(
            &x[1],
            x.get(2),
            n("stride", 1),
            n("padding", 0),
            n("dilation", 1),
            n("groups", 1),
        )?),
        "conv1d_padding" => one(x[0].conv1d_with_padding(
            &x[1],
            x.get(2),
            n("stride", 1),
            padding_rule(),
            n("dilation", 1),
            1,
        )?),
        "conv2d_padding" => one(x[0].conv2d_with_padding(
            &x[1],
            x.get(2),
            pair("stride", 1),
            padding_rule(),
            pair("dilation", 1),
            n("groups", 1),
        )?),
        "conv_transpose2d" => {
            let settings = ConvTranspose {
                stride: pair("stride", 1),
                padding: pair("padding", 0),
                output_padding: pair("output_padding", 0),
                dilation: pair("dilation", 1),
                groups: n("groups", 1),
            };
            one(x[0].conv_transpose2d(&x[1], x.get(2), &settings)?)
        }
        "max_pool2d" => two(x[0].max_pool2d_with_indices(
            pair("kernel", 0),
            pair("stride", 0),
            pair("padding", 0),
            pair("dilation", 1),
            b("ceil_mode"),
        )?),
        "avg_pool2d" => one(x[0].avg_pool2d_with(
            pair("kernel", 0),
            pair("stride", 0),
            pair("padding", 0),
            b("ceil_mode"),
            b("count_include_pad"),
        )?),
        "max_pool1d" => one(x[0].max_pool1d(
            n("kernel", 0),
            n("stride", 0),
            n("padding", 0),
            n("dilation", 1),
            b("ceil_mode"),
        )?),
        "avg_pool1d" => one(x[0].avg_pool1d(
            n("kernel", 0),
            n("stride", 0),
            n("padding", 0),
            b("ceil_mode"),
            b("count_include_pad"),
        )?),
        "adaptive_max_pool2d" => {
            two(x[0].adaptive_max_pool2d_with_indices(pair("output_size", 0))?)
        }
        "interpolate" => {
            let mode = match args["mode"].as_str() {
                Some("nearest") => InterpolateMode::Nearest,
                Some("linear") => InterpolateMode::Linear,
                Some("bilinear") => InterpolateMode::Bilinear,
                other => panic!("interpolate mode {other:?}"),
            };
            let size = (!args["size"].is_null()).then(|| usizes(&args["size"]));
            let factor = (!args["scale_factor"].is_null()).then(|| numbers(&args["scale_factor"]));
            let align = args["align_corners"].as_bool();
            one(x[0].interpolate(size.as_deref(), factor.as_deref(), mode, align)?)
        }
        "group_norm" => one(x[0].group_norm(n("num_groups", 1), x.get(1), x.get(2), f("eps"))?),
        "instance_norm" => {
            let c = x[0].shape().get(1).copied().unwrap_or(0);
            // The recorder's running statistics: evenly spaced, f64 data in
            // the input's dtype.
            let line = |lo: f64, hi: f64| {
                let step = if c > 1 {
                    (hi - lo) / (c - 1) as f64
                } else {
                    0.0
                };
                Tensor::from_vec((0..c).map(|i| lo + step * i as f64).collect(), &[c])
                    .expect("c values")
                    .to_dtype(x[0].dtype())
            };
            let running = b("running").then(|| (line(-0.5, 0.5), line(0.5, 2.0)));
            let (rm, rv) = match &running {
                Some((m, v)) => (Some(m), Some(v)),
                None => (None, None),
            };
            let y = x[0].instance_norm(
                rm,
                rv,
                x.get(1),
                x.get(2),
                b("use_input_stats"),
                f("momentum"),
                f("eps"),
            )?;
            Ok(match running {
                Some((m, v)) => vec![y, m, v],
                None => vec![y],
            })
        }
        other => panic!("op {other} is not in the replayer"),
    }
}

fn replay_ops(ops: &[&str]) {
    torch_fixture::replay_ops(CASES, ops, apply);
}

const CONVOLUTIONS: &[&str] = &[
    "conv1d",
    "conv1d_padding",
    "conv2d_padding",
    "conv_transpose2d",
];
const POOLING: &[&str] = &[
    "max_pool2d",
    "avg_pool2d",
    "max_pool1d",
    "avg_pool1d",
    "adaptive_max_pool2d",
];
const RESIZING: &[&str] = &["interpolate"];
const NORMS: &[&str] = &["group_norm", "instance_norm"];
const GROUPS: &[&[&str]] = &[CONVOLUTIONS, POOLING, RESIZING, NORMS];

#[test]
fn conv1d_conv_transpose2d_and_same_padding_agree_with_pytorch() {
    replay_ops(CONVOLUTIONS);
}

#[test]
fn pooling_with_dilation_ceil_mode_and_indices_agrees_with_pytorch() {
    replay_ops(POOLING);
}

#[test]
fn interpolate_agrees_with_pytorch() {
    replay_ops(RESIZING);
}

#[test]
fn group_and_instance_norm_agree_with_pytorch() {
    replay_ops(NORMS);
}

#[test]
fn every_recorded_op_is_replayed() {
    torch_fixture::assert_every_op_replayed(CASES, |op| GROUPS.iter().any(|g| g.contains(&op)));
}

/// Our module for each of the recorder's `MODULES`, built with the same
/// settings.
fn module(name: &str) -> Box<dyn Module> {
    let conv1d =
        |cin, cout, k, config| Box::new(Conv1d::with_config(cin, cout, k, config).unwrap());
    let tracked = BatchNormConfig::default(); // affine, tracking running statistics
    let up = ConvTranspose {
        stride: (2, 2),
        padding: (1, 1),
        output_padding: (1, 1),
        groups: 2,
        ..Default::default()
    };
    let dilated = ConvTranspose {
        dilation: (2, 2),
        ..Default::default()
    };
    match name {
        "Conv1d(3, 4, 3, stride=2, padding=1)" => conv1d(
            3,
            4,
            3,
            Conv1dConfig {
                stride: 2,
                padding: 1,
                ..Default::default()
            },
        ),
        "Conv1d(4, 6, 4, groups=2, padding='same', bias=False)" => conv1d(
            4,
            6,
            4,
            Conv1dConfig {
                groups: 2,
                padding_same: true,
                bias: false,
                ..Default::default()
            },
        ),
        "Conv2d(3, 4, 4, padding='same')" => Box::new(Conv2d::new(3, 4, 4).padding_same()),
        "ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2)" => {
            Box::new(ConvTranspose2d::with_config(4, 6, (3, 2), up, true).unwrap())
        }
        "ConvTranspose2d(3, 2, 3, bias=False, dilation=2)" => {
            Box::new(ConvTranspose2d::with_config(3, 2, (3, 3), dilated, false).unwrap())
        }
        "MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)" => Box::new(
            MaxPool1d::new(3)
                .stride(2)
                .padding(1)
                .dilation(2)
                .ceil_mode(true),
        ),
        "AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)" => Box::new(
            AvgPool1d::new(3)
                .stride(2)
                .padding(1)
                .ceil_mode(true)
                .count_include_pad(false),
        ),
        "MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True)" => Box::new(
            MaxPool2d::new(3)
                .stride(2)
                .padding(1)
                .dilation(2)
                .ceil_mode(true),
        ),
        "AvgPool2d(3, stride=2, padding=1, ceil_mode=True)" => {
            Box::new(AvgPool2d::new(3).stride(2).padding(1).ceil_mode(true))
        }
        "AdaptiveMaxPool2d((2, 3))" => Box::new(AdaptiveMaxPool2d::new((2, 3))),
        "Upsample(scale_factor=2, mode='bilinear')" => {
            Box::new(Upsample::scale_factor(2.0, InterpolateMode::Bilinear))
        }
        "Upsample(size=(5, 3), mode='nearest')" => {
            Box::new(Upsample::size(&[5, 3], InterpolateMode::Nearest))
        }
        "GroupNorm(2, 4)" => Box::new(GroupNorm::new(2, 4)),
        "GroupNorm(3, 6, affine=False)" => {
            Box::new(GroupNorm::with_config(3, 6, 1e-5, false).unwrap())
        }
        "InstanceNorm2d(3)" => Box::new(InstanceNorm2d::new(3)),
        "InstanceNorm2d(3, affine=True, track_running_stats=True), training"
        | "InstanceNorm2d(3, affine=True, track_running_stats=True), eval" => {
            Box::new(InstanceNorm2d::with_config(3, tracked).unwrap())
        }
        other => panic!("module {other} is not in the replayer"),
    }
}

/// A recorded `[name, {shape, value}]` list as a state dict.
fn state(entries: &Value) -> Vec<(String, Tensor)> {
    entries
        .as_array()
        .expect("state")
        .iter()
        .map(|e| {
            let t = Tensor::from_vec(numbers(&e[1]["value"]), &usizes(&e[1]["shape"])).unwrap();
            (e[0].as_str().expect("name").to_string(), t)
        })
        .collect()
}

/// One recorded module: PyTorch's state dict loads strictly, and the
/// output and the state after the forward pass match.
fn replay_module(m: &Value) -> std::result::Result<(), String> {
    let mut ours = module(m["name"].as_str().expect("name"));
    ours.set_training(m["training"].as_bool().expect("training"));
    ours.load_state_dict(&state(&m["state"]))
        .map_err(|e| format!("load_state_dict: {e}"))?;
    // PyTorch's modules and input are float32, as ours.
    let x = Tensor::from_vec(numbers(&m["input"]["value"]), &usizes(&m["input"]["shape"]))
        .unwrap()
        .to_dtype(DType::F32);
    let y = ours.forward(&x).map_err(|e| format!("forward: {e}"))?;
    if y.shape() != usizes(&m["output"]["shape"]) {
        return Err(format!(
            "output shape {:?}, PyTorch {}",
            y.shape(),
            m["output"]["shape"]
        ));
    }
    close(&y.to_vec::<f64>(), &numbers(&m["output"]["value"]), true)
        .map_err(|e| format!("output: {e}"))?;
    for ((name, got), (want_name, want)) in ours.state_dict().iter().zip(state(&m["state_after"])) {
        if *name != want_name {
            return Err(format!("state entry {name}, PyTorch {want_name}"));
        }
        close(&got.to_vec::<f64>(), &want.to_vec::<f64>(), true)
            .map_err(|e| format!("{name} after forward: {e}"))?;
    }
    Ok(())
}

#[test]
fn modules_load_pytorch_state_dicts_and_agree() {
    let fixture: Value = serde_json::from_str(CASES).expect("fixture is JSON");
    let modules = fixture["modules"].as_array().expect("modules");
    let failures = torch_fixture::disagreements(modules, replay_module, |m| m["name"].to_string());
    println!("{} modules replayed", modules.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

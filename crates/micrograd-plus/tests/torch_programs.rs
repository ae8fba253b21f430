//! The differential test against PyTorch: replays the random programs that
//! `scripts/record_torch_programs.py` generated and ran in PyTorch 2.15
//! (`tests/data/torch_programs.json`), half in f64 and half in f32, and
//! checks every result against PyTorch's: the value's shape, dtype and
//! elements, or an error where PyTorch raised, and every input's gradient.
//!
//! The programs lean on the inputs that find bugs (broadcasting, size-1 and
//! zero-size dims, ties, NaN and ±inf, empty dim lists, corrections larger
//! than the count). A program that panics counts as a failure, and all
//! failures are listed together.

mod torch_fixture;

use micrograd_plus::nn::loss::{CrossEntropyLoss, Reduction};
use micrograd_plus::{DType, Result, Tensor};
use serde_json::Value;
use torch_fixture::{
    check_gradients, close, dim_list, disagreements, dtype, input, ints, number, numbers, usizes,
};

const CORPUS: &str = include_str!("data/torch_programs.json");

/// Runs one recorded op on our engine.
fn apply(op: &Value, vals: &[Tensor]) -> Result<Tensor> {
    let arg = |i: usize| &vals[op["args"][i].as_u64().expect("arg") as usize];
    let x = arg(0);
    let scalar = || op["scalar"].as_f64().expect("scalar");
    let keep = || op["keepdim"].as_bool().expect("keepdim");
    let int = |key: &str| op[key].as_i64().expect("int") as isize;
    let correction = || op["correction"].as_u64().expect("correction") as usize;
    let size = |key: &str| op[key].as_u64().expect("size") as usize;
    let pair = |key: &str| {
        let v = usizes(&op[key]);
        (v[0], v[1])
    };
    Ok(match op["op"].as_str().expect("op name") {
        "neg" => x.neg(),
        "exp" => x.exp(),
        "log" => x.log(),
        "sqrt" => x.sqrt(),
        "abs" => x.abs(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        "relu" => x.relu(),
        "sigmoid" => x.sigmoid(),
        "tanh" => x.tanh(),
        "silu" => x.silu(),
        "softplus" => x.softplus(),
        "gelu" => x.gelu(),
        "gelu_tanh" => x.gelu_tanh(),
        "add" => x.add(arg(1))?,
        "sub" => x.sub(arg(1))?,
        "mul" => x.mul(arg(1))?,
        "div" => x.div(arg(1))?,
        "maximum" => x.maximum(arg(1))?,
        "minimum" => x.minimum(arg(1))?,
        "pow" => x.pow(arg(1))?,
        "add_scalar" => x.add_scalar(scalar()),
        "sub_scalar" => x.sub_scalar(scalar()),
        "rsub_scalar" => x.rsub_scalar(scalar()),
        "mul_scalar" => x.mul_scalar(scalar()),
        "div_scalar" => x.div_scalar(scalar()),
        "rdiv_scalar" => x.rdiv_scalar(scalar()),
        "pow_scalar" => x.pow_scalar(scalar()),
        "leaky_relu" => x.leaky_relu(scalar()),
        "elu" => x.elu(scalar()),
        "clamp" => x.clamp(op["min"].as_f64(), op["max"].as_f64()),
        "sum" => x.sum_dims(&dim_list(&op["dims"]), keep())?,
        "mean" => x.mean_dims(&dim_list(&op["dims"]), keep())?,
        "var" => x.var_dims(&dim_list(&op["dims"]), correction(), keep())?,
        "std" => x.std_dims(&dim_list(&op["dims"]), correction(), keep())?,
        "amax" => x.max_dims(&dim_list(&op["dims"]), keep())?,
        "amin" => x.min_dims(&dim_list(&op["dims"]), keep())?,
        "logsumexp" => x.logsumexp_dims(&dim_list(&op["dims"]), keep())?,
        "max_all" => x.max()?,
        "min_all" => x.min()?,
        "softmax" => x.softmax(int("dim"))?,
        "log_softmax" => x.log_softmax(int("dim"))?,
        "matmul" => x.matmul(arg(1))?,
        "transpose" => x.transpose(int("dim0"), int("dim1"))?,
        "unsqueeze" => x.unsqueeze(int("dim"))?,
        "flatten" => x.reshape(&[-1])?,
        "where" => Tensor::where_(&x.gt_scalar(0.0), arg(1), arg(2))?,
        "permute" => x.permute(&ints(&op["perm"]))?,
        "expand" => x.expand(&ints(&op["shape"]))?,
        "squeeze" => x.squeeze(Some(int("dim")))?,
        "cat" => Tensor::cat(&[x.clone(), arg(1).clone()], int("dim"))?,
        "stack" => Tensor::stack(&[x.clone(), arg(1).clone()], int("dim"))?,
        "index_select" => x.index_select(int("dim"), &usizes(&op["index"]))?,
        "narrow" => x.narrow(int("dim"), size("start"), size("length"))?,
        "masked_fill" => x.masked_fill(&arg(1).gt_scalar(0.0), number(&op["value"]))?,
        "linear" => x.linear(arg(1), op["args"].get(2).map(|_| arg(2)))?,
        "layer_norm" => x.layer_norm(
            &usizes(&op["normalized_shape"]),
            Some(arg(1)),
            Some(arg(2)),
            1e-5,
        )?,
        "conv2d" => x.conv2d(
            arg(1),
            op["args"].get(2).map(|_| arg(2)),
            pair("stride"),
            pair("padding"),
            (1, 1),
            1,
        )?,
        "max_pool2d" => x.max_pool2d(pair("kernel"), pair("stride"), pair("padding"))?,
        "avg_pool2d" => x.avg_pool2d(
            pair("kernel"),
            pair("stride"),
            pair("padding"),
            op["count_include_pad"].as_bool().expect("flag"),
        )?,
        "cross_entropy" => {
            let reduction = match op["reduction"].as_str() {
                Some("mean") => Reduction::Mean,
                Some("sum") => Reduction::Sum,
                _ => Reduction::None,
            };
            CrossEntropyLoss::new()
                .ignore_index(op["ignore_index"].as_i64().expect("ignore_index"))
                .label_smoothing(op["label_smoothing"].as_f64().expect("smoothing"))
                .reduction(reduction)
                .forward(x, arg(1))?
        }
        other => panic!("op {other} is not in the replayer"),
    })
}

/// Replays one program; `Err` describes the first disagreement.
fn replay(program: &Value) -> std::result::Result<(), String> {
    let leaves: Vec<Tensor> = program["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(input)
        .collect();
    let torch = &program["torch"];
    let mut vals = leaves.clone();
    let mut result = Ok(());
    for op in program["ops"].as_array().expect("ops") {
        match apply(op, &vals) {
            Ok(t) => vals.push(t),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let out = match (result, torch.get("error")) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(_), Some(e)) => return Err(format!("PyTorch raised ({e}), we did not")),
        (Err(e), None) => return Err(format!("we raised ({e}), PyTorch did not")),
        (Ok(()), None) => vals.last().expect("a value").clone(),
    };
    let f32 = out.dtype() == DType::F32;
    if out.shape() != usizes(&torch["shape"]) {
        return Err(format!(
            "shape {:?}, PyTorch {}",
            out.shape(),
            torch["shape"]
        ));
    }
    if Some(out.dtype()) != dtype(&torch["dtype"]) {
        return Err(format!(
            "dtype {:?}, PyTorch {}",
            out.dtype(),
            torch["dtype"]
        ));
    }
    close(&out.to_vec::<f64>(), &numbers(&torch["value"]), f32)
        .map_err(|e| format!("value: {e}"))?;
    check_gradients(&out, &leaves, torch)
}

#[test]
fn random_programs_agree_with_pytorch_values_errors_and_gradients() {
    let corpus: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let programs = corpus["programs"].as_array().expect("programs");
    assert!(
        programs.len() >= 1000,
        "the corpus shrank: {}",
        programs.len()
    );
    let failures = disagreements(programs, replay, |program| {
        format!(
            "program {} (ops {}, inputs {})",
            program["id"],
            program["ops"],
            shapes(program)
        )
    });
    assert!(
        failures.is_empty(),
        "{} of {} programs disagree with PyTorch:\n{}",
        failures.len(),
        programs.len(),
        failures.join("\n")
    );
}

fn shapes(program: &Value) -> String {
    let list: Vec<String> = program["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| format!("{}{}", i["dtype"].as_str().unwrap_or("?"), i["shape"]))
        .collect();
    list.join(", ")
}

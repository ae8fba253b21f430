//! `#[derive(Module)]`: names, buffers, containers, train/eval, printing,
//! state dicts and training through a derived model, checked against what a
//! hand-written `Module` (or PyTorch's naming) gives for the same layers.

use micrograd_plus::nn::{BatchNorm1d, Dropout, Linear, Module, ReLU, Sequential};
use micrograd_plus::optim::{Optimizer, SGDConfig, SGD};
use micrograd_plus::{Result, Tensor};

#[derive(Module)]
struct Block {
    fc: Linear,
    norm: BatchNorm1d,
    drop: Dropout,
}

impl Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.drop
            .forward(&self.norm.forward(&self.fc.forward(x)?)?.relu())
    }
}

#[derive(Module)]
struct Net {
    stem: Linear,
    blocks: Vec<Block>,
    extra: Option<Linear>,
    missing: Option<Linear>,
    heads: [Linear; 2],
    scale: Tensor,
    #[module(buffer)]
    steps: Tensor,
    #[module(skip)]
    _notes: std::collections::HashMap<String, String>,
    width: usize,
}

impl Net {
    fn new() -> Net {
        Net {
            stem: Linear::new(3, 4, true),
            blocks: vec![Block::new(4), Block::new(4)],
            extra: Some(Linear::new(4, 4, false)),
            missing: None,
            heads: [Linear::new(4, 2, true), Linear::new(4, 2, true)],
            scale: Tensor::ones(&[1]).requires_grad(true),
            steps: Tensor::zeros(&[1]),
            _notes: Default::default(),
            width: 4,
        }
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        assert_eq!(self.width, x.shape()[1] + 1);
        let mut h = self.stem.forward(x)?;
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        if let Some(extra) = &self.extra {
            h = extra.forward(&h)?;
        }
        let out = self.heads[0]
            .forward(&h)?
            .add(&self.heads[1].forward(&h)?)?;
        out.mul(&self.scale)
    }
}

impl Block {
    fn new(width: usize) -> Block {
        Block {
            fc: Linear::new(width, width, true),
            norm: BatchNorm1d::new(width),
            drop: Dropout::new(0.5).unwrap(),
        }
    }
}

fn names(list: Vec<(String, Tensor)>) -> Vec<String> {
    list.into_iter().map(|(n, _)| n).collect()
}

#[test]
fn parameters_and_buffers_get_pytorchs_dotted_names_in_field_order() {
    let net = Net::new();
    let mut expected = vec!["stem.weight".to_string(), "stem.bias".to_string()];
    for i in 0..2 {
        for p in ["fc.weight", "fc.bias", "norm.weight", "norm.bias"] {
            expected.push(format!("blocks.{i}.{p}"));
        }
    }
    expected.push("extra.weight".into());
    for i in 0..2 {
        expected.push(format!("heads.{i}.weight"));
        expected.push(format!("heads.{i}.bias"));
    }
    expected.push("scale".into());
    assert_eq!(names(net.named_parameters()), expected);

    let mut buffers = Vec::new();
    for i in 0..2 {
        for b in ["running_mean", "running_var", "num_batches_tracked"] {
            buffers.push(format!("blocks.{i}.norm.{b}"));
        }
    }
    buffers.push("steps".into());
    assert_eq!(names(net.named_buffers()), buffers);

    let counted: usize = net.parameters().iter().map(Tensor::numel).sum();
    assert_eq!(net.num_parameters(), counted);
    assert_eq!(
        counted,
        3 * 4 + 4 + 2 * (16 + 4 + 4 + 4) + 16 + 2 * (8 + 2) + 1
    );
}

#[test]
fn the_same_layers_in_a_sequential_get_the_same_leaf_names() {
    #[derive(Module)]
    struct Pair(Linear, ReLU, Linear);
    impl Pair {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            self.2.forward(&self.1.forward(&self.0.forward(x)?)?)
        }
    }
    let pair = Pair(Linear::new(2, 3, true), ReLU, Linear::new(3, 1, true));
    let seq = Sequential::new()
        .layer(Linear::new(2, 3, true))
        .layer(ReLU)
        .layer(Linear::new(3, 1, true));
    assert_eq!(
        names(pair.named_parameters()),
        names(seq.named_parameters())
    );
    // Loading one into the other moves every value, so both compute the same.
    let mut seq = seq;
    seq.load_state_dict(&pair.state_dict()).unwrap();
    let x = Tensor::from_vec(vec![0.5f32, -1.0, 2.0, 0.25], &[2, 2]).unwrap();
    assert_eq!(
        Module::forward(&pair, &x).unwrap().to_vec::<f32>(),
        seq.forward(&x).unwrap().to_vec::<f32>()
    );
}

#[test]
fn eval_and_train_reach_every_layer_and_a_training_field() {
    #[derive(Module)]
    struct Flagged {
        training: bool,
        block: Block,
    }
    impl Flagged {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            self.block.forward(x)
        }
    }
    let mut model = Flagged {
        training: true,
        block: Block::new(3),
    };
    model.eval();
    assert!(!model.training && !model.is_training());
    assert!(!model.block.norm.is_training() && !model.block.drop.is_training());
    // In evaluation, dropout is the identity and batch norm uses its running
    // statistics: two passes over different batches give row-wise equal results.
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, -1.0, 0.0, 4.0], &[2, 3]).unwrap();
    let both = Module::forward(&model, &x).unwrap().to_vec::<f32>();
    let first = Module::forward(&model, &x.narrow(0, 0, 1).unwrap())
        .unwrap()
        .to_vec::<f32>();
    assert_eq!(&both[..3], &first[..]);
    model.train();
    assert!(model.training && model.block.drop.is_training());

    // Without a flag field, the struct is in evaluation once a module field is.
    let mut net = Net::new();
    assert!(net.is_training());
    net.eval();
    assert!(!net.is_training());
    assert!(net.blocks.iter().all(|b| !b.drop.is_training()));
}

#[test]
fn describe_prints_like_pytorch_with_nested_indentation() {
    #[derive(Module)]
    struct Small {
        fc: Linear,
        layers: Vec<ReLU>,
        none: Option<ReLU>,
        scale: Tensor,
    }
    impl Small {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            self.fc.forward(x)
        }
    }
    let small = Small {
        fc: Linear::new(2, 3, false),
        layers: vec![ReLU, ReLU],
        none: None,
        scale: Tensor::ones(&[1]),
    };
    assert_eq!(
        small.describe(),
        "Small(\n  (fc): Linear(in_features=2, out_features=3, bias=false)\n  (layers): ModuleList(\n    (0): ReLU()\n    (1): ReLU()\n  )\n)"
    );
    #[derive(Module)]
    struct Empty;
    impl Empty {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            Ok(x.clone())
        }
    }
    assert_eq!(Empty.describe(), "Empty()");
}

#[test]
fn a_generic_model_derives_with_its_bounds() {
    #[derive(Module)]
    struct Wrap<M: Module> {
        inner: M,
        extra: Vec<M>,
    }
    impl<M: Module> Wrap<M> {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            self.inner.forward(x)
        }
    }
    let w = Wrap {
        inner: Linear::new(2, 2, true),
        extra: vec![Linear::new(2, 2, false)],
    };
    assert_eq!(
        names(w.named_parameters()),
        ["inner.weight", "inner.bias", "extra.0.weight"]
    );
    let boxed = Wrap::<Box<dyn Module>> {
        inner: Box::new(Linear::new(2, 2, false)),
        extra: vec![],
    };
    assert_eq!(names(boxed.named_parameters()), ["inner.weight"]);
}

#[test]
fn state_dict_round_trips_and_a_mismatch_is_refused_whole() {
    let mut a = Net::new();
    a.steps = Tensor::from_vec(vec![7.0f32], &[1]).unwrap();
    let mut b = Net::new();
    b.load_state_dict(&a.state_dict()).unwrap();
    for ((na, ta), (nb, tb)) in a.state_dict().into_iter().zip(b.state_dict()) {
        assert_eq!(na, nb);
        assert_eq!(ta.to_vec::<f64>(), tb.to_vec::<f64>(), "{na}");
    }
    let mut c = Net::new();
    c.extra = None;
    let err = c.load_state_dict(&a.state_dict()).unwrap_err().to_string();
    assert_eq!(
        err,
        "load_state_dict: unexpected entry \"extra.weight\" in the state"
    );
}

#[test]
fn every_registered_parameter_trains_and_nothing_is_left_out() {
    micrograd_plus::manual_seed(3);
    let net = Net::new();
    let x = Tensor::randn(&[5, 3], 3);
    let y = Module::forward(&net, &x).unwrap();
    let loss = (&y * &y).sum();
    assert!(net.unregistered_parameters(&loss).is_empty());
    let before: Vec<Vec<f32>> = net.parameters().iter().map(|p| p.to_vec()).collect();
    loss.backward().unwrap();
    let config = SGDConfig {
        lr: 0.1,
        ..Default::default()
    };
    let mut opt = SGD::new(net.parameters(), config).unwrap();
    opt.step().unwrap();
    let after: Vec<Vec<f32>> = net.parameters().iter().map(|p| p.to_vec()).collect();
    for ((name, _), (b, a)) in net.named_parameters().iter().zip(before.iter().zip(&after)) {
        assert_ne!(b, a, "{name} did not move");
    }

    // A hand-written module that forgets a layer is caught.
    struct Forgetful {
        a: Linear,
        b: Linear,
    }
    impl Module for Forgetful {
        fn forward(&self, x: &Tensor) -> Result<Tensor> {
            self.b.forward(&self.a.forward(x)?)
        }
        fn visit_parameters(&self, f: &mut micrograd_plus::nn::Visitor<'_>) {
            micrograd_plus::nn::module::visit_child("a", &self.a, false, f);
        }
        fn describe(&self) -> String {
            "Forgetful".into()
        }
    }
    let forgetful = Forgetful {
        a: Linear::new(3, 3, true),
        b: Linear::new(3, 1, true),
    };
    let out = forgetful.forward(&x).unwrap().sum();
    let missed: Vec<u64> = forgetful
        .unregistered_parameters(&out)
        .iter()
        .map(Tensor::id)
        .collect();
    assert_eq!(
        missed,
        [forgetful.b.weight().id(), forgetful.b.bias().unwrap().id()]
    );
}

//! Parameter groups by name predicates, and optimizer config validation.

use candle_core::{DType, Device, Tensor};
use candle_nn::{Init, VarMap};
use train_kit::{param_groups, GroupRule, OptimizerConfig, OptimizerState, SgdConfig, TrainError};

fn maps() -> (VarMap, VarMap) {
    let (model, head) = (VarMap::new(), VarMap::new());
    for name in [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "prelu.weight",
        "fc.weight",
    ] {
        model
            .get((2, 2), name, Init::Const(1.0), DType::F32, &Device::Cpu)
            .unwrap();
    }
    head.get((3, 2), "weight", Init::Const(1.0), DType::F32, &Device::Cpu)
        .unwrap();
    (model, head)
}

fn names(group: &train_kit::ParamGroup) -> Vec<&str> {
    group.params.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn first_matching_rule_wins_and_the_rest_is_default() {
    let (model, head) = maps();
    let rules = [
        GroupRule::new("head", |n| n.starts_with("head/")).lr_scale(10.0),
        GroupRule::new("no_decay", |n| {
            n.contains("bn") || n.contains("prelu") || n.starts_with("head/")
        })
        .weight_decay(0.0),
    ];
    let groups = param_groups(&[("model", &model), ("head", &head)], &rules).unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(names(&groups[0]), ["head/weight"]);
    assert_eq!((groups[0].lr_scale, groups[0].weight_decay), (10.0, None));
    assert_eq!(
        names(&groups[1]),
        ["model/bn1.bias", "model/bn1.weight", "model/prelu.weight"]
    );
    assert_eq!(
        (groups[1].lr_scale, groups[1].weight_decay),
        (1.0, Some(0.0))
    );
    assert_eq!(groups[2].name, "default");
    assert_eq!(names(&groups[2]), ["model/conv1.weight", "model/fc.weight"]);
}

#[test]
fn a_rule_that_selects_nothing_is_an_error_naming_it() {
    let (model, head) = maps();
    let err = param_groups(
        &[("model", &model), ("head", &head)],
        &[GroupRule::new("bn", |n| n.contains("batchnorm"))],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter group bn: its predicate selects no parameter"
    );
}

#[test]
fn group_weight_decay_and_lr_scale_change_the_update() {
    // One plain-SGD step with lr 0.1 and gradient 1 everywhere (loss = sum of all params):
    // default group (wd 0.5 coupled): p = 1 - 0.1·(1 + 0.5·1) = 0.85;
    // head (lr ×10, wd 0): p = 1 - 1.0·1 = 0.
    let (model, head) = maps();
    let groups = param_groups(
        &[("model", &model), ("head", &head)],
        &[GroupRule::new("head", |n| n.starts_with("head/"))
            .lr_scale(10.0)
            .weight_decay(0.0)],
    )
    .unwrap();
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.0,
        weight_decay: 0.5,
        ..SgdConfig::arcface()
    };
    let mut opt = OptimizerConfig::Sgd(cfg).build(groups).unwrap();
    let mut loss = Tensor::new(0f32, &Device::Cpu).unwrap();
    for map in [&model, &head] {
        for var in map.all_vars() {
            loss = (loss + var.as_tensor().sum_all().unwrap()).unwrap();
        }
    }
    opt.backward_step(&loss).unwrap();
    let conv: Vec<f32> = model.data().lock().unwrap()["conv1.weight"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(conv.iter().all(|&v| (v - 0.85).abs() < 1e-6), "{conv:?}");
    let w: Vec<f32> = head.data().lock().unwrap()["weight"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(w.iter().all(|&v| v.abs() < 1e-6), "{w:?}");
}

#[test]
fn sgd_config_errors_name_the_field() {
    let nesterov = SgdConfig {
        nesterov: true,
        momentum: 0.0,
        ..SgdConfig::arcface()
    };
    let err = nesterov.validate().unwrap_err().to_string();
    assert_eq!(err, "invalid sgd.nesterov = true (momentum 0, dampening 0): Nesterov needs momentum > 0 and dampening 0");
    let err = SgdConfig {
        momentum: 1.5,
        ..SgdConfig::arcface()
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert_eq!(err, "invalid sgd.momentum = 1.5: must be in [0, 1)");
    let err = serde_json::from_value::<OptimizerConfig>(
        serde_json::json!({"kind": "sgd", "lr": 0.1, "momentun": 0.9}),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("momentun"), "{err}");
}

#[test]
fn loading_another_optimizers_state_is_refused() {
    let (model, head) = maps();
    let sets = [("model", &model), ("head", &head)];
    let mut sgd = OptimizerConfig::Sgd(SgdConfig::arcface())
        .build(param_groups(&sets, &[]).unwrap())
        .unwrap();
    let loss = model
        .all_vars()
        .iter()
        .fold(Tensor::new(0f32, &Device::Cpu).unwrap(), |acc, v| {
            (acc + v.as_tensor().sum_all().unwrap()).unwrap()
        });
    sgd.backward_step(&loss).unwrap();
    let mut adamw = OptimizerConfig::AdamW(train_kit::AdamWConfig::new(0.1, 0.0))
        .build(param_groups(&sets, &[]).unwrap())
        .unwrap();
    let err = adamw.load_state(sgd.state().unwrap()).unwrap_err();
    assert!(matches!(err, TrainError::StateMismatch { .. }));
    assert!(
        err.to_string()
            .contains("unexpected key(s), first momentum/model/"),
        "{err}"
    );

    let mut wrong_shape = OptimizerState::default();
    wrong_shape.insert_counter("sgd.steps", 1).unwrap();
    wrong_shape.tensors.insert(
        "momentum/head/weight".into(),
        Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap(),
    );
    let err = sgd.load_state(wrong_shape).unwrap_err().to_string();
    assert_eq!(
        err,
        "optimizer state: momentum/head/weight is F32 [2, 3], the parameter is F32 [3, 2]"
    );
}

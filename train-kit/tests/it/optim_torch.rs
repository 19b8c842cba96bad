//! Optimizer trajectories against PyTorch (`tests/fixtures/make_optim_fixtures.py` wrote
//! `optim_torch.json` with torch 2.15: SGD with momentum/dampening/Nesterov/coupled weight decay,
//! decoupled-decay SGD, AdamW, two parameter groups, a new learning rate every step).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use serde::Deserialize;
use train_kit::{param_groups, GroupRule, Optimizer, OptimizerConfig, OptimizerState};

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: String,
    config: serde_json::Value,
    groups: Vec<Group>,
    lrs: Vec<f64>,
    shapes: HashMap<String, Vec<usize>>,
    init: HashMap<String, Vec<f32>>,
    grads: Vec<HashMap<String, Vec<f32>>>,
    params_after: Vec<HashMap<String, Vec<f32>>>,
}

#[derive(Deserialize)]
struct Group {
    params: Vec<String>,
    lr_scale: f64,
    weight_decay: Option<f64>,
}

fn fixture() -> Fixture {
    let text = include_str!("../fixtures/optim_torch.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// Builds `model` and `head` var maps holding `model/w` and `head/b` at the fixture's init.
fn var_maps(case: &Case) -> (VarMap, VarMap) {
    let (model, head) = (VarMap::new(), VarMap::new());
    for (qualified, values) in &case.init {
        let (set, name) = qualified.split_once('/').expect("qualified name");
        let map = if set == "model" { &model } else { &head };
        let t = Tensor::from_vec(
            values.clone(),
            case.shapes[qualified].as_slice(),
            &Device::Cpu,
        )
        .unwrap();
        map.get(
            t.dims(),
            name,
            candle_nn::Init::Const(0.0),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
        map.clone().set_one(name, &t).unwrap();
    }
    (model, head)
}

fn build(case: &Case, model: &VarMap, head: &VarMap) -> Box<dyn Optimizer> {
    // The fixture's last group is the catch-all; earlier ones become rules.
    let rules: Vec<GroupRule> = case.groups[..case.groups.len() - 1]
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let members = g.params.clone();
            let mut rule = GroupRule::new(format!("g{i}"), move |n| members.iter().any(|m| m == n))
                .lr_scale(g.lr_scale);
            if let Some(wd) = g.weight_decay {
                rule = rule.weight_decay(wd);
            }
            rule
        })
        .collect();
    let groups = param_groups(&[("model", model), ("head", head)], &rules).unwrap();
    let last = case.groups.last().unwrap();
    assert_eq!(
        groups.last().unwrap().params.len(),
        last.params.len(),
        "{}: default group",
        case.name
    );
    let mut cfg = case.config.clone();
    cfg["kind"] = case.kind.clone().into();
    let cfg: OptimizerConfig = serde_json::from_value(cfg).unwrap();
    cfg.build(groups).unwrap()
}

fn step(opt: &mut dyn Optimizer, case: &Case, k: usize, model: &VarMap, head: &VarMap) {
    opt.set_learning_rate(case.lrs[k]);
    let mut loss = Tensor::new(0f32, &Device::Cpu).unwrap();
    for (qualified, g) in &case.grads[k] {
        let (set, name) = qualified.split_once('/').unwrap();
        let map = if set == "model" { model } else { head };
        let var = map.data().lock().unwrap()[name].clone();
        let g = Tensor::from_vec(g.clone(), var.dims(), &Device::Cpu).unwrap();
        // d/dp sum(p * g) = g exactly.
        loss = (loss + (var.as_tensor() * g).unwrap().sum_all().unwrap()).unwrap();
    }
    opt.backward_step(&loss).unwrap();
}

/// Largest `|got - torch| / tolerance` over the parameters after step `k` (<= 1 passes).
fn worst_error_ratio(case: &Case, k: usize, model: &VarMap, head: &VarMap) -> (f32, String) {
    let mut worst = (0f32, String::new());
    for (qualified, expected) in &case.params_after[k] {
        let (set, name) = qualified.split_once('/').unwrap();
        let map = if set == "model" { model } else { head };
        let got: Vec<f32> = map.data().lock().unwrap()[name]
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (i, (g, e)) in got.iter().zip(expected).enumerate() {
            let ratio = (g - e).abs() / (2e-6 + 2e-6 * e.abs());
            if ratio > worst.0 {
                worst = (
                    ratio,
                    format!(
                        "{} step {k} {qualified}[{i}]: got {g}, torch {e}",
                        case.name
                    ),
                );
            }
        }
    }
    worst
}

fn assert_matches_torch(case: &Case, k: usize, model: &VarMap, head: &VarMap) {
    let (ratio, at) = worst_error_ratio(case, k, model, head);
    assert!(ratio <= 1.0, "{at} ({ratio:.1}x the tolerance)");
}

#[test]
fn every_optimizer_case_follows_the_torch_trajectory() {
    let fixture = fixture();
    assert_eq!(fixture.cases.len(), 8);
    for case in &fixture.cases {
        let (model, head) = var_maps(case);
        let mut opt = build(case, &model, &head);
        for k in 0..case.lrs.len() {
            step(opt.as_mut(), case, k, &model, &head);
            assert_matches_torch(case, k, &model, &head);
        }
    }
}

#[test]
fn optimizer_state_saved_mid_run_continues_the_torch_trajectory() {
    let dir = tempfile::tempdir().unwrap();
    for case in &fixture().cases {
        let (model, head) = var_maps(case);
        let mut opt = build(case, &model, &head);
        for k in 0..3 {
            step(opt.as_mut(), case, k, &model, &head);
        }
        let path = dir.path().join(format!("{}.safetensors", case.name));
        opt.state().unwrap().save(&path).unwrap();
        drop(opt);
        let mut resumed = build(case, &model, &head);
        resumed
            .load_state(OptimizerState::load(&path, &Device::Cpu).unwrap())
            .unwrap();
        for k in 3..case.lrs.len() {
            step(resumed.as_mut(), case, k, &model, &head);
            assert_matches_torch(case, k, &model, &head);
        }
    }
}

#[test]
fn the_tolerance_rejects_decoupled_decay_where_torch_couples_it() {
    let fixture = fixture();
    let mut case = fixture
        .cases
        .into_iter()
        .find(|c| c.name == "sgd_arcface_coupled_wd")
        .unwrap();
    case.config["decoupled_weight_decay"] = true.into();
    let (model, head) = var_maps(&case);
    let mut opt = build(&case, &model, &head);
    let mut worst = 0f32;
    for k in 0..case.lrs.len() {
        step(opt.as_mut(), &case, k, &model, &head);
        worst = worst.max(worst_error_ratio(&case, k, &model, &head).0);
    }
    assert!(
        worst > 10.0,
        "a wrong decay mode stayed within tolerance ({worst:.1}x)"
    );
}

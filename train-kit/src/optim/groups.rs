//! Parameter groups: which variables get which learning-rate scale and weight decay.

use candle_core::Var;
use candle_nn::VarMap;

use crate::error::{Result, TrainError};

/// A trainable variable with its qualified name (`"<set>/<name in the VarMap>"`, e.g. `"head/weight"`).
#[derive(Debug, Clone)]
pub struct NamedVar {
    /// Qualified name, also the key of its optimizer state.
    pub name: String,
    /// The variable the optimizer updates in place.
    pub var: Var,
}

/// Variables that share hyperparameters.
#[derive(Debug, Clone)]
pub struct ParamGroup {
    /// Group name, for messages.
    pub name: String,
    /// Members, sorted by name.
    pub params: Vec<NamedVar>,
    /// Multiplies the optimizer's (scheduled) learning rate for this group.
    pub lr_scale: f64,
    /// Weight decay for this group; `None` uses the optimizer's default.
    pub weight_decay: Option<f64>,
}

type NamePredicate = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// Selects variables by a predicate on their qualified name and sets their hyperparameters.
pub struct GroupRule {
    name: String,
    select: NamePredicate,
    lr_scale: f64,
    weight_decay: Option<f64>,
}

impl std::fmt::Debug for GroupRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRule")
            .field("name", &self.name)
            .field("lr_scale", &self.lr_scale)
            .field("weight_decay", &self.weight_decay)
            .finish_non_exhaustive()
    }
}

impl GroupRule {
    /// A rule named `name` taking every variable whose qualified name satisfies `select`.
    pub fn new(
        name: impl Into<String>,
        select: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            select: Box::new(select),
            lr_scale: 1.0,
            weight_decay: None,
        }
    }

    /// Sets the learning-rate multiplier (default 1).
    pub fn lr_scale(mut self, scale: f64) -> Self {
        self.lr_scale = scale;
        self
    }

    /// Sets the group's weight decay (default: the optimizer's).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = Some(weight_decay);
        self
    }
}

/// The named variable sets (`("model", &model_vars)`, `("head", &head_vars)`) as a sorted list of
/// qualified [`NamedVar`]s. Only float variables are included.
pub fn named_vars(sets: &[(&str, &VarMap)]) -> Vec<NamedVar> {
    let mut out = Vec::new();
    for (set, map) in sets {
        let data = map
            .data()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (name, var) in data.iter() {
            if var.dtype().is_float() {
                out.push(NamedVar {
                    name: format!("{set}/{name}"),
                    var: var.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Splits the variables of `sets` into groups: each variable goes to the first rule that selects
/// it, the rest to a last group named `"default"` (scale 1, optimizer's weight decay).
///
/// A rule that selects nothing is an error (a predicate typo would otherwise go unnoticed),
/// as are two rules with the same name.
pub fn param_groups(sets: &[(&str, &VarMap)], rules: &[GroupRule]) -> Result<Vec<ParamGroup>> {
    let mut groups: Vec<ParamGroup> = rules
        .iter()
        .map(|r| ParamGroup {
            name: r.name.clone(),
            params: Vec::new(),
            lr_scale: r.lr_scale,
            weight_decay: r.weight_decay,
        })
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        if rules[..i].iter().any(|r| r.name == rule.name) || rule.name == "default" {
            return Err(TrainError::ParamGroup {
                group: rule.name.clone(),
                problem: "name used twice (\"default\" is reserved)".into(),
            });
        }
    }
    let mut default = ParamGroup {
        name: "default".into(),
        params: Vec::new(),
        lr_scale: 1.0,
        weight_decay: None,
    };
    for nv in named_vars(sets) {
        match rules.iter().position(|r| (r.select)(&nv.name)) {
            Some(i) => groups[i].params.push(nv),
            None => default.params.push(nv),
        }
    }
    if let Some(empty) = groups.iter().find(|g| g.params.is_empty()) {
        return Err(TrainError::ParamGroup {
            group: empty.name.clone(),
            problem: "its predicate selects no parameter".into(),
        });
    }
    if !default.params.is_empty() {
        groups.push(default);
    }
    Ok(groups)
}

/// One group holding every float variable of `sets`.
pub fn single_group(sets: &[(&str, &VarMap)]) -> Vec<ParamGroup> {
    vec![ParamGroup {
        name: "default".into(),
        params: named_vars(sets),
        lr_scale: 1.0,
        weight_decay: None,
    }]
}

//! A `VarMap`'s variables in name order: what every strict load, check and save iterates, so
//! messages name the first offending variable reproducibly.

use candle_core::Var;
use candle_nn::VarMap;

/// The variables of `map` as `(name, variable)`, sorted by name (the variables are shared, not
/// copied).
pub fn sorted_vars(map: &VarMap) -> Vec<(String, Var)> {
    let data = map
        .data()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut vars: Vec<(String, Var)> = data.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// The name of the first variable of `map` holding NaN or Inf, if any.
pub fn first_non_finite(map: &VarMap) -> crate::Result<Option<String>> {
    for (name, var) in sorted_vars(map) {
        if !crate::finite::all_finite(var.as_tensor())? {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

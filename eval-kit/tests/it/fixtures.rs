//! Loading the JSON fixtures.

use std::path::PathBuf;

use serde_json::Value;

/// Path of a file in `tests/fixtures`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Parses a JSON fixture.
pub fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(path(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A JSON array of numbers as `f64`.
pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Asserts `|a - b| <= tol` with a message.
pub fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tol {tol})");
}

//! The config tree every app's run config goes through before it is parsed: `--set key=value`
//! overrides (and `!key` removals) applied to the TOML tree, so they pass exactly the checks the
//! file does; renamed keys that fail naming their new place; NaN/Inf values refused; and unknown
//! keys found by comparing the tree with what was parsed from it, so a typo is an error naming
//! the key (with the nearest known one) rather than a silently ignored setting.

use crate::error::{Result, TrainError};

/// Where overrides come from, in messages.
pub const SET_ORIGIN: &str = "--set";

/// A `--set` value: any TOML value (`2`, `0.5`, `true`, `[1, 2]`, `"x"`), else a bare string.
pub fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    match toml::from_str::<toml::Table>(&format!("v = {text}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(text.into())),
        Err(_) => toml::Value::String(text.into()),
    }
}

/// Applies one override to `table`: `key.path=value` sets the key (creating tables on the way;
/// the value is parsed by [`parse_value`]), `!key.path` removes it (e.g. `!train.epochs` before
/// setting `train.steps`).
pub fn apply_set(table: &mut toml::Table, item: &str) -> Result<()> {
    if let Some(key) = item.strip_prefix('!') {
        let key = key.trim();
        check_key_syntax(key, item)?;
        remove_path(table, key);
        return Ok(());
    }
    let Some((key, raw)) = item.split_once('=') else {
        return Err(TrainError::config(
            SET_ORIGIN,
            item,
            "expected key=value (e.g. train.steps=100) or !key to remove one",
        ));
    };
    let key = key.trim();
    check_key_syntax(key, item)?;
    set_path(table, key, parse_value(raw))
}

fn check_key_syntax(key: &str, item: &str) -> Result<()> {
    if key.is_empty() || key.split('.').any(|p| p.trim().is_empty()) {
        return Err(TrainError::config(
            SET_ORIGIN,
            item,
            "the key must be a dotted path like loss.alpha",
        ));
    }
    Ok(())
}

/// Sets the dotted `key` of `table` to `value`, creating intermediate tables.
pub fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, parents) = parts.split_last().expect("split yields at least one part");
    let mut current = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            other => {
                return Err(TrainError::config(
                    SET_ORIGIN,
                    key,
                    format!(
                        "{} is not a table (it holds a value of type {})",
                        parts[..=i].join("."),
                        other.type_str()
                    ),
                ))
            }
        };
    }
    current.insert(last.to_string(), value);
    Ok(())
}

/// Removes the dotted `key` of `table`; returns whether it was there.
pub fn remove_path(table: &mut toml::Table, key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, parents) = parts.split_last().expect("split yields at least one part");
    let mut current = Some(table);
    for part in parents {
        current = current
            .and_then(|t| t.get_mut(*part))
            .and_then(|v| v.as_table_mut());
    }
    current.is_some_and(|t| t.remove(*last).is_some())
}

/// The value at the dotted `key` of `table`, if any.
pub fn get_path<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// A key that moved: configs still using `old` fail with a message naming `new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renamed {
    /// The old dotted key (or table name).
    pub old: &'static str,
    /// Where it lives now.
    pub new: &'static str,
}

/// The run-plan keys that moved when both apps got one vocabulary.
pub const RENAMED_PLAN_KEYS: &[Renamed] = &[
    Renamed {
        old: "optimizer",
        new: "optim",
    },
    Renamed {
        old: "train.checkpoint_every_steps",
        new: "checkpoint.every_steps",
    },
    Renamed {
        old: "train.keep_checkpoints",
        new: "checkpoint.keep_last",
    },
    Renamed {
        old: "train.keep_last",
        new: "checkpoint.keep_last",
    },
    Renamed {
        old: "train.warmup_epochs",
        new: "schedule.warmup_epochs",
    },
    Renamed {
        old: "train.lr_power",
        new: "schedule.power",
    },
    Renamed {
        old: "train.end_lr",
        new: "schedule.end_lr",
    },
    Renamed {
        old: "train.head_lr_scale",
        new: "train.lr_scale.head",
    },
    Renamed {
        old: "optim.warmup_epochs",
        new: "schedule.warmup_epochs",
    },
    Renamed {
        old: "optim.final_lr",
        new: "schedule.end_lr",
    },
];

/// Fails on the first key of `table` that `renames` lists as moved, naming its new place.
pub fn check_renamed(table: &toml::Table, renames: &[Renamed], origin: &str) -> Result<()> {
    for r in renames {
        if get_path(table, r.old).is_some() {
            let what = if get_path(table, r.old).is_some_and(toml::Value::is_table) {
                format!("[{}]", r.old)
            } else {
                r.old.to_string()
            };
            return Err(TrainError::config(
                origin,
                what,
                format!("renamed to {}: use that key instead", r.new),
            ));
        }
    }
    Ok(())
}

/// Fails on the first NaN or infinite number anywhere in `table`, naming its key.
pub fn check_finite(table: &toml::Table, origin: &str) -> Result<()> {
    fn walk(value: &toml::Value, key: &str, origin: &str) -> Result<()> {
        match value {
            toml::Value::Float(f) if !f.is_finite() => Err(TrainError::config(
                origin,
                key,
                format!("{f} is not a finite number"),
            )),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(v, &join(key, k), origin)?;
                }
                Ok(())
            }
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{key}[{i}]"), origin)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    for (k, v) in table {
        walk(v, k, origin)?;
    }
    Ok(())
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Fails on the first key of `input` that is absent from `parsed` (the parsed config
/// serialized back to TOML): a key the config types do not have. The message names the key,
/// as `[table]` for a whole unknown table, and the nearest known key when one is close.
///
/// Defaults appear in `parsed` but not in `input`, which is fine; only extra input keys fail.
pub fn check_known_keys(input: &toml::Table, parsed: &toml::Table, origin: &str) -> Result<()> {
    fn walk(input: &toml::Table, parsed: &toml::Table, prefix: &str, origin: &str) -> Result<()> {
        for (key, value) in input {
            let path = join(prefix, key);
            match parsed.get(key) {
                None => {
                    let shown = if value.is_table() {
                        format!("[{path}]")
                    } else {
                        path.clone()
                    };
                    let mut problem = if value.is_table() {
                        "unknown table".to_string()
                    } else {
                        "unknown key".to_string()
                    };
                    match nearest(key, parsed.keys().map(String::as_str)) {
                        Some(near) => {
                            problem.push_str(&format!(" (did you mean {}?)", join(prefix, near)))
                        }
                        None if !parsed.is_empty() => {
                            let mut known: Vec<&str> = parsed.keys().map(String::as_str).collect();
                            known.sort_unstable();
                            problem.push_str(&format!(" (known here: {})", known.join(", ")));
                        }
                        None => {}
                    }
                    return Err(TrainError::config(origin, shown, problem));
                }
                Some(toml::Value::Table(known)) => {
                    if let toml::Value::Table(given) = value {
                        walk(given, known, &path, origin)?;
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
    walk(input, parsed, "", origin)
}

/// The known key closest to `key` by edit distance, when it is close enough to be a typo.
fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (key.len() / 3).clamp(1, 3);
    known
        .map(|k| (edit_distance(key, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance (with adjacent transpositions counted as one edit).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The first key (in sorted order) whose value differs between `saved` and `current`, as
/// `(key, saved value, current value)`, skipping keys for which `may_change` is true. A key
/// missing on one side shows as `(absent)`.
pub fn first_difference(
    saved: &toml::Table,
    current: &toml::Table,
    may_change: &dyn Fn(&str) -> bool,
) -> Option<(String, String, String)> {
    fn walk(
        a: &toml::Table,
        b: &toml::Table,
        prefix: &str,
        may_change: &dyn Fn(&str) -> bool,
    ) -> Option<(String, String, String)> {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let path = join(prefix, key);
            if may_change(&path) {
                continue;
            }
            match (a.get(key), b.get(key)) {
                (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
                    if let Some(d) = walk(x, y, &path, may_change) {
                        return Some(d);
                    }
                }
                (x, y) if !same_value(x, y) => {
                    let show = |v: Option<&toml::Value>| {
                        v.map_or("(absent)".to_string(), |v| v.to_string())
                    };
                    return Some((path, show(x), show(y)));
                }
                _ => {}
            }
        }
        None
    }
    walk(saved, current, "", may_change)
}

/// Equal values, with integers and floats of the same number equal (`1` and `1.0`).
fn same_value(a: Option<&toml::Value>, b: Option<&toml::Value>) -> bool {
    match (a, b) {
        (Some(toml::Value::Integer(i)), Some(toml::Value::Float(f)))
        | (Some(toml::Value::Float(f)), Some(toml::Value::Integer(i))) => *i as f64 == *f,
        (Some(toml::Value::Array(x)), Some(toml::Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(Some(p), Some(q)))
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn values_are_typed_and_bare_words_are_strings() {
        assert_eq!(parse_value("2"), toml::Value::Integer(2));
        assert_eq!(parse_value(" 0.5 "), toml::Value::Float(0.5));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            parse_value("qmargin"),
            toml::Value::String("qmargin".into())
        );
        assert_eq!(
            parse_value("[1, 2]"),
            toml::Value::Array(vec![1.into(), 2.into()])
        );
    }

    #[test]
    fn set_creates_tables_and_bang_removes() {
        let mut t = table("[train]\nepochs = 2.0\n");
        apply_set(&mut t, "!train.epochs").unwrap();
        apply_set(&mut t, "train.steps=7").unwrap();
        apply_set(&mut t, "loss.reinit.at_steps=[1, 3]").unwrap();
        assert_eq!(
            t,
            table("[train]\nsteps = 7\n[loss.reinit]\nat_steps = [1, 3]\n")
        );
        let e = apply_set(&mut t, "train.steps.x=1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train.steps is not a table (it holds a value of type integer)"),
            "{e}"
        );
        let e = apply_set(&mut t, "train.steps").unwrap_err().to_string();
        assert!(e.contains("expected key=value"), "{e}");
        assert!(apply_set(&mut t, "a..b=1").is_err());
    }

    #[test]
    fn renamed_keys_name_their_new_place() {
        let e = check_renamed(
            &table("[optimizer]\nlr = 0.1\n"),
            RENAMED_PLAN_KEYS,
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "f.toml: [optimizer]: renamed to optim: use that key instead"
        );
        let e = check_renamed(&table("[train]\nkeep_last = 2\n"), RENAMED_PLAN_KEYS, "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train.keep_last: renamed to checkpoint.keep_last"),
            "{e}"
        );
        check_renamed(&table("[optim]\nlr = 0.1\n"), RENAMED_PLAN_KEYS, "f").unwrap();
    }

    #[test]
    fn unknown_keys_and_tables_are_named_with_a_suggestion() {
        let parsed = table("[train]\nbatch_size = 8\nsteps = 4\n[eval]\nfars = [0.1]\n");
        let e = check_known_keys(&table("[trian]\nbatch_size = 8\n"), &parsed, "f")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f: [trian]: unknown table (did you mean train?)");
        let e = check_known_keys(&table("[train]\nbatch_sise = 8\n"), &parsed, "f")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f: train.batch_sise: unknown key (did you mean train.batch_size?)"
        );
        let e = check_known_keys(&table("[eval]\nzzz = 1\n"), &parsed, "f")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f: eval.zzz: unknown key (known here: fars)");
        check_known_keys(&table("[train]\nsteps = 4\n"), &parsed, "f").unwrap();
    }

    #[test]
    fn nan_and_inf_are_refused_with_their_key() {
        let e = check_finite(&table("[loss]\nalpha = nan\n"), "f")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f: loss.alpha: NaN is not a finite number");
        let e = check_finite(&table("[eval]\nfars = [0.1, inf]\n"), "f")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f: eval.fars[1]: inf is not a finite number");
        check_finite(&table("[loss]\nalpha = 1.5\n"), "f").unwrap();
    }

    #[test]
    fn first_difference_skips_mutable_keys_and_equates_1_and_1_0() {
        let a = table("[train]\nbatch_size = 8\nlog_every_steps = 1\n[optim]\nlr = 1\n");
        let b = table("[train]\nbatch_size = 16\nlog_every_steps = 5\n[optim]\nlr = 1.0\n");
        let d = first_difference(&a, &b, &|k| k == "train.log_every_steps").unwrap();
        assert_eq!(d, ("train.batch_size".into(), "8".into(), "16".into()));
        let c = table("[train]\nbatch_size = 8\nlog_every_steps = 9\n[optim]\nlr = 1.0\n");
        assert_eq!(
            first_difference(&a, &c, &|k| k == "train.log_every_steps"),
            None
        );
        let d = first_difference(&a, &table("[train]\nbatch_size = 8\n"), &|_| false).unwrap();
        assert_eq!(d.0, "optim");
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("trian", "train"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}

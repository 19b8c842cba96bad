//! Reading trial lists and score files; writing wespeaker-style score files.
//!
//! Formats (whitespace-separated, one trial per line, blank lines skipped):
//! - scored trials: `<enroll> <test> <score> <label>`;
//! - trial lists: Kaldi / wespeaker `<enroll> <test> <label>`, the official
//!   VoxCeleb `<label> <enroll> <test>`, or unlabelled `<enroll> <test>`;
//! - score files: `<enroll> <test> <score>`, optionally followed by a label
//!   (which is ignored when joining with a trial list).
//!
//! Labels are `target`/`1` or `nontarget`/`0`.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use crate::error::MetricError;

/// Scores with their labels, ready for [`crate::ScoreCurve::new`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoredTrials {
    /// One score per trial.
    pub scores: Vec<f64>,
    /// Whether each trial is a target (same identity) trial.
    pub is_target: Vec<bool>,
}

/// One trial of a trial list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// Enrollment key.
    pub enroll: String,
    /// Test key.
    pub test: String,
    /// The label, if the list has one.
    pub is_target: Option<bool>,
}

/// Parses a label: `target`/`1` is true, `nontarget`/`0` is false.
pub fn parse_label(token: &str) -> Option<bool> {
    match token {
        "target" | "1" => Some(true),
        "nontarget" | "0" => Some(false),
        _ => None,
    }
}

fn label_error(token: &str) -> String {
    format!("label {token:?} is not one of target, nontarget, 1, 0")
}

/// Parses a score token; NaN is an error.
pub fn parse_score(token: &str) -> Result<f64, String> {
    match token.parse::<f64>() {
        Ok(s) if s.is_nan() => Err("score is NaN".to_string()),
        Ok(s) if s.is_infinite() => Err(format!("score {token:?} is not finite")),
        Ok(s) => Ok(s),
        Err(_) => Err(format!("score {token:?} is not a number")),
    }
}

/// Calls `f(line_number, tokens)` for every non-blank line of `path`;
/// an `Err(message)` from `f` becomes a [`MetricError::Parse`] at that line.
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[&str]) -> Result<(), String>,
) -> Result<(), MetricError> {
    let file = std::fs::File::open(path).map_err(|e| MetricError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| MetricError::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let mut tokens = [""; 5];
        let mut count = 0;
        for token in line.split_ascii_whitespace() {
            if count < tokens.len() {
                tokens[count] = token;
            }
            count += 1;
        }
        if count == 0 {
            continue;
        }
        if count > tokens.len() {
            return Err(MetricError::parse(
                path,
                number,
                format!("too many fields ({count})"),
            ));
        }
        f(number, &tokens[..count]).map_err(|message| MetricError::parse(path, number, message))?;
    }
}

/// Reads `<enroll> <test> <score> <label>` lines. Keys are not kept.
pub fn read_scored_trials(path: &Path) -> Result<ScoredTrials, MetricError> {
    let mut out = ScoredTrials::default();
    for_each_line(path, |_, tokens| {
        let [_, _, score, label] = tokens else {
            return Err(format!(
                "expected 4 fields `<enroll> <test> <score> <label>`, got {}",
                tokens.len()
            ));
        };
        let score = parse_score(score)?;
        let label = parse_label(label).ok_or_else(|| label_error(label))?;
        out.scores.push(score);
        out.is_target.push(label);
        Ok(())
    })?;
    if out.scores.is_empty() {
        return Err(MetricError::Empty {
            path: path.to_path_buf(),
            what: "no scored trials (expected `<enroll> <test> <score> <label>` lines)",
        });
    }
    Ok(out)
}

/// Parses the fields of one trial-list line.
fn parse_trial(tokens: &[&str]) -> Result<Trial, String> {
    Ok(match tokens {
            [enroll, test] => Trial {
                enroll: enroll.to_string(),
                test: test.to_string(),
                is_target: None,
            },
        [a, b, c] => match (parse_label(c), parse_label(a)) {
                (Some(label), _) => Trial {
                    enroll: a.to_string(),
                    test: b.to_string(),
                    is_target: Some(label),
                },
                (None, Some(label)) => Trial {
                    enroll: b.to_string(),
                    test: c.to_string(),
                    is_target: Some(label),
                },
                (None, None) => {
                    return Err(format!(
                        "no label: expected `<enroll> <test> <label>` or `<label> <enroll> <test>`; {}",
                        label_error(c)
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "expected 2 or 3 fields (`<enroll> <test> [label]` or `<label> <enroll> <test>`), got {}",
                    tokens.len()
                ))
            }
    })
}

/// Reads a trial list in any of the module's trial formats.
pub fn read_trials(path: &Path) -> Result<Vec<Trial>, MetricError> {
    let mut trials = Vec::new();
    for_each_line(path, |_, tokens| {
        trials.push(parse_trial(tokens)?);
        Ok(())
    })?;
    if trials.is_empty() {
        return Err(MetricError::Empty {
            path: path.to_path_buf(),
            what:
                "no trials (expected `<label> <enroll> <test>` or `<enroll> <test> [label]` lines)",
        });
    }
    Ok(trials)
}

/// Reads a score file (`<enroll> <test> <score> [label]`) into a map from
/// the pair to its score. A pair given twice is an error.
pub fn read_score_map(path: &Path) -> Result<HashMap<(String, String), f64>, MetricError> {
    let mut map = HashMap::new();
    for_each_line(path, |_, tokens| {
        let (enroll, test, score) = match tokens {
            [e, t, s] | [e, t, s, _] => (e, t, s),
            _ => {
                return Err(format!(
                    "expected `<enroll> <test> <score> [label]`, got {} fields",
                    tokens.len()
                ))
            }
        };
        let score = parse_score(score)?;
        if map
            .insert((enroll.to_string(), test.to_string()), score)
            .is_some()
        {
            return Err(format!("pair {enroll} {test} is scored twice"));
        }
        Ok(())
    })?;
    Ok(map)
}

/// Joins a labelled trial list with a score file on `(enroll, test)`.
///
/// Every trial must be labelled (else a parse error at its line) and scored
/// (else one error listing all unscored pairs). Extra scores are ignored.
pub fn join_trials_and_scores(
    trials_path: &Path,
    scores_path: &Path,
) -> Result<ScoredTrials, MetricError> {
    let scores = read_score_map(scores_path)?;
    let mut out = ScoredTrials::default();
    let mut missing = Vec::new();
    let mut seen_missing = HashSet::new();
    for_each_line(trials_path, |_, tokens| {
        let trial = parse_trial(tokens)?;
        let Some(label) = trial.is_target else {
            return Err("trial has no label; metrics need target/nontarget labels".to_string());
        };
        match scores.get(&(trial.enroll.clone(), trial.test.clone())) {
            Some(&s) => {
                out.scores.push(s);
                out.is_target.push(label);
            }
            None => {
                let pair = format!("{} {}", trial.enroll, trial.test);
                if seen_missing.insert(pair.clone()) {
                    missing.push(pair);
                }
            }
        }
        Ok(())
    })?;
    if !missing.is_empty() {
        return Err(MetricError::MissingScores {
            path: scores_path.to_path_buf(),
            pairs: missing,
        });
    }
    Ok(out)
}

/// Writes wespeaker's score file: `<enroll> <test> <score>` with `decimals`
/// digits, followed by `target`/`nontarget` when the trial has a label.
pub fn write_score_file(
    path: &Path,
    trials: &[Trial],
    scores: &[f64],
    decimals: usize,
) -> Result<(), MetricError> {
    if trials.len() != scores.len() {
        return Err(MetricError::LengthMismatch {
            what: "scores",
            expected: trials.len(),
            actual: scores.len(),
        });
    }
    let io = |e| MetricError::io(path, e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = BufWriter::new(file);
    for (trial, score) in trials.iter().zip(scores) {
        write!(w, "{} {} {:.*}", trial.enroll, trial.test, decimals, score).map_err(io)?;
        match trial.is_target {
            Some(true) => writeln!(w, " target"),
            Some(false) => writeln!(w, " nontarget"),
            None => writeln!(w),
        }
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

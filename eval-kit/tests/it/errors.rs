//! Bad input gives errors that name the file, line and problem.

use std::path::PathBuf;

use eval_kit::trials::{join_trials_and_scores, read_scored_trials, read_trials};
use eval_kit::{MetricError, ScoreCurve};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn malformed_lines_report_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("a b 0.5 target\na b 0.1\n", ":2: expected 4 fields"),
        (
            "a b 0.5 target\n\na b x target\n",
            ":3: score \"x\" is not a number",
        ),
        ("a b NaN target\n", ":1: score is NaN"),
        (
            "a b 0.5 maybe\n",
            ":1: label \"maybe\" is not one of target, nontarget, 1, 0",
        ),
    ];
    for (text, expected) in cases {
        let p = write(&dir, "scored.txt", text);
        let err = read_scored_trials(&p).unwrap_err();
        assert!(matches!(err, MetricError::Parse { .. }), "{err}");
        let message = err.to_string();
        assert!(message.starts_with(&p.display().to_string()), "{message}");
        assert!(message.contains(expected), "{message} lacks {expected}");
    }
}

#[test]
fn trial_formats_are_recognized() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "trials",
        "e1 t1 target\n1 e2 t2\n0 e3 t3\ne4 t4 nontarget\ne5 t5\n",
    );
    let trials = read_trials(&p).unwrap();
    let labels: Vec<Option<bool>> = trials.iter().map(|t| t.is_target).collect();
    assert_eq!(
        labels,
        [Some(true), Some(true), Some(false), Some(false), None]
    );
    assert_eq!(
        (trials[1].enroll.as_str(), trials[1].test.as_str()),
        ("e2", "t2")
    );
    let p = write(&dir, "bad", "e1 t1 x\n");
    let err = read_trials(&p).unwrap_err().to_string();
    assert!(err.contains(":1: no label"), "{err}");
}

#[test]
fn joining_lists_every_unscored_trial_once() {
    let dir = tempfile::tempdir().unwrap();
    let trials = write(
        &dir,
        "trials",
        "a b target\nc d nontarget\ne f target\nc d nontarget\n",
    );
    let scores = write(&dir, "scores", "a b 0.9\nz z 0.1\n");
    let err = join_trials_and_scores(&trials, &scores).unwrap_err();
    match &err {
        MetricError::MissingScores { pairs, .. } => assert_eq!(pairs, &["c d", "e f"]),
        other => panic!("unexpected {other}"),
    }
    let scores = write(&dir, "scores2", "a b 0.9 target\nc d 0.2\ne f 0.7\n");
    let joined = join_trials_and_scores(&trials, &scores).unwrap();
    assert_eq!(joined.scores, [0.9, 0.2, 0.7, 0.2]);
    assert_eq!(joined.is_target, [true, false, true, false]);
    let dup = write(&dir, "dup", "a b 0.9\na b 0.8\n");
    let err = join_trials_and_scores(&trials, &dup)
        .unwrap_err()
        .to_string();
    assert!(err.contains(":2: pair a b is scored twice"), "{err}");
}

#[test]
fn one_class_only_is_an_error() {
    let err = ScoreCurve::new(&[0.1, 0.2, 0.3], &[false; 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no target trials (there are 3 nontarget trials): both classes are needed"
    );
}

#[test]
fn empty_files_and_infinite_scores_are_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("scores.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let e = eval_kit::trials::read_scored_trials(&empty)
        .unwrap_err()
        .to_string();
    assert!(e.contains("scores.txt: no scored trials"), "{e}");
    let e = eval_kit::trials::read_trials(&empty)
        .unwrap_err()
        .to_string();
    assert!(e.contains("scores.txt: no trials"), "{e}");
    let inf = dir.path().join("inf.txt");
    std::fs::write(&inf, "a b 0.5 target\nc d inf nontarget\n").unwrap();
    let e = eval_kit::trials::read_scored_trials(&inf)
        .unwrap_err()
        .to_string();
    assert!(e.contains("inf.txt:2: score \"inf\" is not finite"), "{e}");
    // Scores are f64: 1e40 is a score, 1e400 overflows to infinity.
    std::fs::write(&inf, "a b 1e40 target\nc d 1e400 nontarget\n").unwrap();
    let e = eval_kit::trials::read_scored_trials(&inf)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inf.txt:2: score \"1e400\" is not finite"),
        "{e}"
    );
}

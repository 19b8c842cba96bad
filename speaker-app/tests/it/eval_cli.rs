//! `speaker-app eval`: cosine scores against an independent f64 computation, a trial list with a
//! known EER and minDCF, AS-norm against an independent reimplementation, the JSON / DET plot
//! outputs, `--wav-root` embedding, and errors naming the file and line of bad trials.

use std::collections::HashMap;
use std::path::Path;

use eval_kit::EmbeddingStore;
use serde_json::Value;

use crate::embed_cli::{library_embedding, small_bundle, speaker_app, write_wav};

/// Deterministic pseudo-random values in [-1, 1).
fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
}

fn store_of(rows: &[(String, Vec<f32>)]) -> EmbeddingStore {
    let dim = rows[0].1.len();
    let mut store = EmbeddingStore::new(dim);
    for (k, v) in rows {
        store.push(k.clone(), v).unwrap();
    }
    store
}

fn random_rows(prefix: &str, n: usize, dim: usize, seed: &mut u64) -> Vec<(String, Vec<f32>)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                (0..dim).map(|_| lcg(seed)).collect(),
            )
        })
        .collect()
}

/// Reads a score file into `(enroll, test) -> score`.
fn read_scores(path: &Path) -> HashMap<(String, String), f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            ((t[0].to_string(), t[1].to_string()), t[2].parse().unwrap())
        })
        .collect()
}

fn mean(rows: &[(String, Vec<f32>)]) -> Vec<f64> {
    let dim = rows[0].1.len();
    let mut m = vec![0.0; dim];
    for (_, v) in rows {
        for (a, x) in m.iter_mut().zip(v) {
            *a += f64::from(*x) / rows.len() as f64;
        }
    }
    m
}

fn centered_unit(v: &[f32], m: &[f64]) -> Vec<f64> {
    let c: Vec<f64> = v.iter().zip(m).map(|(x, m)| f64::from(*x) - m).collect();
    let n = c.iter().map(|x| x * x).sum::<f64>().sqrt();
    c.iter().map(|x| x / n).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn cosine_scores_equal_an_f64_computation_with_the_stores_mean() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 7;
    let rows = random_rows("id1/v/", 8, 16, &mut seed);
    let emb = dir.path().join("emb.safetensors");
    store_of(&rows).save(&emb).unwrap();
    let trials = dir.path().join("trials.txt");
    let mut text = String::new();
    for i in 0..8 {
        for j in (i + 1)..8 {
            text += &format!("{} id1/v/{i} id1/v/{j}\n", u32::from((i + j) % 3 == 0));
        }
    }
    std::fs::write(&trials, text).unwrap();
    let scores_dir = dir.path().join("scores");
    let (ok, stdout, stderr) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--embeddings",
        p(&emb),
        "--scores-dir",
        p(&scores_dir),
    ]);
    assert!(ok, "stderr: {stderr}");
    assert!(
        stdout.contains("mean subtraction: evaluation embeddings"),
        "{stdout}"
    );
    let got = read_scores(&scores_dir.join("trials.score"));
    assert_eq!(got.len(), 28);
    let m = mean(&rows);
    let by_key: HashMap<&str, &Vec<f32>> = rows.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for ((e, t), s) in &got {
        let want = dot(
            &centered_unit(by_key[e.as_str()], &m),
            &centered_unit(by_key[t.as_str()], &m),
        );
        assert!((s - want).abs() < 6e-6, "{e} {t}: {s} vs {want}");
    }

    // --mean-from another store and --no-mean change the scores accordingly.
    let mut seed2 = 99;
    let other = random_rows("c", 5, 16, &mut seed2);
    let mean_store = dir.path().join("mean.safetensors");
    store_of(&other).save(&mean_store).unwrap();
    for (flag, m) in [
        (vec!["--mean-from", p(&mean_store)], mean(&other)),
        (vec!["--no-mean"], vec![0.0; 16]),
    ] {
        let mut args = vec!["eval", "--trials", p(&trials), "--embeddings", p(&emb)];
        args.extend(["--scores-dir", p(&scores_dir)]);
        args.extend(flag);
        let (ok, _, stderr) = speaker_app(&args);
        assert!(ok, "stderr: {stderr}");
        for ((e, t), s) in read_scores(&scores_dir.join("trials.score")) {
            let want = dot(
                &centered_unit(by_key[e.as_str()], &m),
                &centered_unit(by_key[t.as_str()], &m),
            );
            assert!((s - want).abs() < 6e-6, "{e} {t}: {s} vs {want}");
        }
    }
}

/// Enroll `e` = (1, 0); test `tK` = (s, sqrt(1 - s^2)), so without mean subtraction the cosine
/// score of `e tK` is exactly `s`.
fn score_store(scores: &[f32]) -> EmbeddingStore {
    let mut store = EmbeddingStore::new(2);
    store.push("e", &[1.0, 0.0]).unwrap();
    for (k, &s) in scores.iter().enumerate() {
        store
            .push(format!("t{k}"), &[s, (1.0 - s * s).sqrt()])
            .unwrap();
    }
    store
}

#[test]
fn known_eer_min_dcf_json_and_det_plot() {
    let dir = tempfile::tempdir().unwrap();
    // Targets 0.9 0.8 0.7 0.2, nontargets 0.6 0.3 0.1 0.0. Just above 0.3 one target of four
    // is missed (0.2) and one nontarget of four is accepted (0.6): fnr = fpr, EER 25 %.
    // minDCF(0.01): just above 0.6, fnr = 1/4 and fpr = 0, so C = 0.01 * 0.25 / 0.01 = 0.25.
    let scores = [0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.0];
    let emb = dir.path().join("emb.safetensors");
    score_store(&scores).save(&emb).unwrap();
    let trials = dir.path().join("vox1_O_cleaned.kaldi");
    let mut text = String::new();
    for k in 0..8 {
        text += &format!("e t{k} {}\n", if k < 4 { "target" } else { "nontarget" });
    }
    std::fs::write(&trials, text).unwrap();
    let out = dir.path().join("results.json");
    let plot = dir.path().join("det.png");
    let (ok, stdout, stderr) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--embeddings",
        p(&emb),
        "--no-mean",
        "--out",
        p(&out),
        "--plot",
        p(&plot),
    ]);
    assert!(ok, "stderr: {stderr}");
    assert!(stdout.contains("vox1_O_cleaned  cosine"), "{stdout}");
    assert!(stdout.contains("25.000"), "{stdout}");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let list = &results["lists"][0];
    assert_eq!(list["name"], "vox1_O_cleaned");
    assert_eq!(list["n_trials"], 8);
    let cos = &list["cosine"];
    assert_eq!(cos["n_target"], 4);
    assert_eq!(cos["n_nontarget"], 4);
    assert!((cos["eer"].as_f64().unwrap() - 0.25).abs() < 1e-12, "{cos}");
    assert!(
        (cos["min_dcf"].as_f64().unwrap() - 0.25).abs() < 1e-9,
        "{cos}"
    );
    assert_eq!(cos["p_target"], 0.01);
    // TAR at FAR 1e-1 (strict: no false accept allowed with 4 nontargets) = 3 / 4.
    let tar = cos["tar_at_far"].as_array().unwrap();
    assert_eq!(tar.len(), 3);
    assert!(
        (tar[2]["tar"].as_f64().unwrap() - 0.75).abs() < 1e-12,
        "{cos}"
    );
    assert!(list["as_norm"].is_null());
    assert_eq!(results["mean"], "none");
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // --json prints the same object on stdout.
    let (ok, stdout, _) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--embeddings",
        p(&emb),
        "--no-mean",
        "--json",
    ]);
    assert!(ok);
    let printed: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(printed["lists"][0]["cosine"]["eer"], cos["eer"]);
}

#[test]
fn as_norm_matches_an_independent_reimplementation() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 2026;
    let rows = random_rows("u", 10, 12, &mut seed);
    let cohort_rows = random_rows("spk", 20, 12, &mut seed);
    let mean_rows = random_rows("m", 30, 12, &mut seed);
    let (emb, cohort, mean_store) = (
        dir.path().join("emb.safetensors"),
        dir.path().join("cohort.safetensors"),
        dir.path().join("mean.safetensors"),
    );
    store_of(&rows).save(&emb).unwrap();
    store_of(&cohort_rows).save(&cohort).unwrap();
    store_of(&mean_rows).save(&mean_store).unwrap();
    let trials = dir.path().join("trials.txt");
    let pairs: Vec<(usize, usize)> = (0..10)
        .flat_map(|i| (0..10).filter(move |&j| j != i).map(move |j| (i, j)))
        .collect();
    let text: String = pairs
        .iter()
        .map(|(i, j)| format!("{} u{i} u{j}\n", u32::from((i + j) % 4 == 1)))
        .collect();
    std::fs::write(&trials, text).unwrap();
    let scores_dir = dir.path().join("scores");
    let out = dir.path().join("r.json");
    let (ok, stdout, stderr) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--embeddings",
        p(&emb),
        "--mean-from",
        p(&mean_store),
        "--cohort",
        p(&cohort),
        "--top-n",
        "5",
        "--scores-dir",
        p(&scores_dir),
        "--out",
        p(&out),
    ]);
    assert!(ok, "stderr: {stderr}");
    assert!(stdout.contains("AS-norm: cohort"), "{stdout}");
    assert!(stdout.contains("as-norm"), "{stdout}");

    // wespeaker score_norm.py: centered unit vectors, top-5 cohort scores per side, population
    // std, the 5-decimal cosine normalised, then rounded again.
    let m = mean(&mean_rows);
    let unit: Vec<Vec<f64>> = rows.iter().map(|(_, v)| centered_unit(v, &m)).collect();
    let cohort_unit: Vec<Vec<f64>> = cohort_rows
        .iter()
        .map(|(_, v)| centered_unit(v, &m))
        .collect();
    let stats = |v: &[f64]| {
        let mut s: Vec<f64> = cohort_unit.iter().map(|c| dot(v, c)).collect();
        s.sort_by(|a, b| b.partial_cmp(a).unwrap());
        let top = &s[..5];
        let mu = top.iter().sum::<f64>() / 5.0;
        let sd = (top.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / 5.0).sqrt();
        (mu, sd)
    };
    let got = read_scores(&scores_dir.join("trials.score"));
    assert_eq!(got.len(), pairs.len());
    let mut max_err: f64 = 0.0;
    for &(i, j) in &pairs {
        let s = round5(dot(&unit[i], &unit[j]));
        let (me, se) = stats(&unit[i]);
        let (mt, st) = stats(&unit[j]);
        let want = round5(0.5 * ((s - me) / se + (s - mt) / st));
        let g = got[&(format!("u{i}"), format!("u{j}"))];
        max_err = max_err.max((g - want).abs());
    }
    // f32 versus f64 can move the fifth decimal by one step.
    assert!(max_err <= 1.5e-5, "max error {max_err}");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(results["top_n"], 5);
    assert!(results["lists"][0]["as_norm"]["eer"].is_f64());
}

#[test]
fn bad_trial_lines_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let emb = dir.path().join("emb.safetensors");
    score_store(&[0.5, 0.2]).save(&emb).unwrap();
    let run = |name: &str, text: &str| {
        let trials = dir.path().join(name);
        std::fs::write(&trials, text).unwrap();
        let (ok, _, stderr) = speaker_app(&[
            "eval",
            "--trials",
            p(&trials),
            "--embeddings",
            p(&emb),
            "--no-mean",
        ]);
        assert!(!ok, "{name} should fail");
        stderr
    };
    let e = run("missing_key.txt", "1 e t0\n\n0 e t9\n");
    assert!(e.contains("missing_key.txt:3:"), "{e}");
    assert!(e.contains("no embedding for key \"t9\""), "{e}");
    let e = run("bad_label.txt", "e t0 target\ne t1 maybe\n");
    assert!(e.contains("bad_label.txt:2:"), "{e}");
    let e = run("no_label.txt", "e t0 target\ne t1\n");
    assert!(e.contains("no_label.txt:2:"), "{e}");
    assert!(e.contains("no label"), "{e}");
    let e = run("short.txt", "1 e t0\n1 e\n");
    assert!(e.contains("short.txt:2:"), "{e}");
}

#[test]
fn eval_embeds_from_wav_root_with_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    small_bundle(&bundle, Value::Null);
    let root = dir.path().join("wav");
    let keys = ["id1/a/1.wav", "id1/b/2.wav", "id2/c/1.wav", "id2/d/2.wav"];
    for (i, k) in keys.iter().enumerate() {
        write_wav(&root.join(k), 0.7, (i / 2) as u32 * 5 + i as u32);
    }
    let trials = dir.path().join("veri_test2.txt");
    std::fs::write(
        &trials,
        "1 id1/a/1.wav id1/b/2.wav\n0 id1/a/1.wav id2/c/1.wav\n1 id2/c/1.wav id2/d/2.wav\n0 id1/b/2.wav id2/d/2.wav\n",
    )
    .unwrap();
    let saved = dir.path().join("saved.safetensors");
    let (ok, stdout, stderr) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--wav-root",
        p(&root),
        "--model",
        p(&bundle),
        "--save-embeddings",
        p(&saved),
        "--json",
    ]);
    assert!(ok, "stderr: {stderr}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(r["lists"][0]["n_trials"], 4);
    let store = EmbeddingStore::load(&saved).unwrap();
    assert_eq!(store.len(), 4);
    for k in keys {
        let want = library_embedding(&bundle, &root.join(k));
        let got = store.get(k).unwrap();
        let d = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(d < 1e-5, "{k}");
    }
    // A trial utterance that is missing on disk stops the evaluation with its path.
    std::fs::remove_file(root.join(keys[3])).unwrap();
    let (ok, _, stderr) = speaker_app(&[
        "eval",
        "--trials",
        p(&trials),
        "--wav-root",
        p(&root),
        "--model",
        p(&bundle),
    ]);
    assert!(!ok);
    assert!(stderr.contains("id2/d/2.wav"), "{stderr}");
}

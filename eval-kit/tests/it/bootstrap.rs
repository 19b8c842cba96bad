//! Identity bootstrap: weighted curves against an explicit replication of the drawn
//! identities, percentile intervals against numpy's, the FAR resolution rule, pairing.

use eval_kit::bootstrap::{
    far_resolved, mean_over_runs, mean_std, percentile_interval, replicate_weights, resample,
};
use eval_kit::heldout::all_pair_scores;
use eval_kit::scoring::{centered_unit, dot};
use eval_kit::{BootstrapConfig, HeldoutEmbeddings, IdentityPairs, MetricsConfig, ScoreCurve};

/// `identities` identities with `per` items each (some with one item), scattered embeddings.
fn embeddings(identities: u32, per: usize, seed: u64) -> HeldoutEmbeddings {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let dim = 6;
    let mut emb = HeldoutEmbeddings::new(dim);
    for id in 0..identities {
        let centre: Vec<f32> = (0..dim).map(|_| next()).collect();
        let count = if id % 4 == 3 { 1 } else { per };
        for _ in 0..count {
            let row: Vec<f32> = centre.iter().map(|c| c + 0.6 * next()).collect();
            // Labels need not be dense or ordered.
            emb.push(1000 - 7 * id, &row).unwrap();
        }
    }
    emb
}

fn assert_same_curve(a: &ScoreCurve, b: &ScoreCurve) {
    assert_eq!(a.thresholds(), b.thresholds());
    assert_eq!(a.targets_at(), b.targets_at());
    assert_eq!(a.nontargets_at(), b.nontargets_at());
    assert_eq!(
        (a.n_target(), a.n_nontarget()),
        (b.n_target(), b.n_nontarget())
    );
}

#[test]
fn unit_weights_give_the_protocol_itself() {
    let emb = embeddings(9, 4, 1);
    let pairs = IdentityPairs::new(&emb);
    let (scores, genuine) = all_pair_scores(&emb);
    let direct = ScoreCurve::new(&scores, &genuine).unwrap();
    let ones = vec![1; pairs.identities().len()];
    assert_same_curve(&pairs.curve(&ones).unwrap(), &direct);
    assert_eq!(pairs.len(), scores.len());
}

/// The pairs of the drawn sample built item by item: identity `i` repeated `w[i]` times as
/// separate copies; genuine pairs within a copy, impostor pairs across identities, nothing
/// between two copies of one identity.
fn explicit_curve(emb: &HeldoutEmbeddings, identities: &[u32], w: &[u32]) -> ScoreCurve {
    let unit: Vec<Vec<f64>> = emb
        .rows
        .chunks(emb.dim)
        .map(|r| centered_unit(r, None))
        .collect();
    let mut items = Vec::new(); // (row, identity position, copy)
    for (pos, &label) in identities.iter().enumerate() {
        for copy in 0..w[pos] {
            for (row, &l) in emb.labels.iter().enumerate() {
                if l == label {
                    items.push((row, pos, copy));
                }
            }
        }
    }
    let (mut scores, mut genuine) = (Vec::new(), Vec::new());
    for x in 0..items.len() {
        for y in x + 1..items.len() {
            let (a, b) = (items[x], items[y]);
            if a.1 == b.1 && a.2 != b.2 {
                continue;
            }
            // Row order within a pair does not change the f64 dot of unit vectors here, but
            // keep eval-kit's (smaller row first) so ties are bit-identical.
            let (r, s) = (a.0.min(b.0), a.0.max(b.0));
            scores.push(dot(&unit[r], &unit[s]));
            genuine.push(a.1 == b.1);
        }
    }
    ScoreCurve::new(&scores, &genuine).unwrap()
}

#[test]
fn weighted_curves_equal_an_explicit_replication_of_the_draw() {
    let emb = embeddings(8, 3, 7);
    let pairs = IdentityPairs::new(&emb);
    for w in [
        vec![2, 0, 1, 0, 3, 1, 1, 0],
        vec![0, 0, 0, 8, 0, 0, 0, 0],
        vec![1, 1, 1, 1, 1, 1, 1, 1],
    ] {
        let weighted = pairs.curve(&w);
        let has_genuine = w
            .iter()
            .zip(pairs.identities())
            .any(|(&c, &l)| c > 0 && emb.labels.iter().filter(|&&x| x == l).count() > 1);
        let has_impostor = w.iter().filter(|&&c| c > 0).count() > 1;
        if !(has_genuine && has_impostor) {
            assert!(weighted.is_err(), "{w:?} leaves a class empty");
            continue;
        }
        assert_same_curve(
            &weighted.unwrap(),
            &explicit_curve(&emb, pairs.identities(), &w),
        );
    }
    // Drawn replicates too (bootstrap draws, redrawn when a class is empty).
    for b in 0..5 {
        let (w, curve) = replicate_weights(&pairs, 3, b).unwrap();
        assert_eq!(w.iter().sum::<u32>() as usize, pairs.identities().len());
        assert_same_curve(&curve, &explicit_curve(&emb, pairs.identities(), &w));
    }
}

#[test]
fn percentile_intervals_match_numpy() {
    // numpy.percentile([1..10], [5, 95]) = [1.45, 9.55]; [2.5, 97.5] = [1.225, 9.775].
    let values = [7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 8.0, 6.0];
    let i = percentile_interval(&values, 0.9);
    assert!(
        (i.low - 1.45).abs() < 1e-12 && (i.high - 9.55).abs() < 1e-12,
        "{i:?}"
    );
    let i = percentile_interval(&values, 0.95);
    assert!(
        (i.low - 1.225).abs() < 1e-12 && (i.high - 9.775).abs() < 1e-12,
        "{i:?}"
    );
    assert!(i.excludes_zero());
    // numpy.std([1..10], ddof=1) = 3.0276503540974917.
    let (mean, std) = mean_std(&values);
    assert_eq!(mean, 5.5);
    assert!((std - 3.0276503540974917).abs() < 1e-14);
}

#[test]
fn a_far_is_resolved_by_ten_false_accepts() {
    assert!(far_resolved(1e-4, 100_000));
    assert!(!far_resolved(1e-4, 99_999));
    // The default face protocol: 100 identities x 10 items.
    let impostors = 1000 * 999 / 2 - 100 * 45;
    assert!(far_resolved(1e-4, impostors));
    assert!(!far_resolved(1e-5, impostors));
}

#[test]
fn replicates_are_reproducible_and_paired() {
    let emb = embeddings(12, 4, 11);
    let pairs = IdentityPairs::new(&emb);
    let config = MetricsConfig {
        fars: vec![1e-2, 1e-1],
        ..MetricsConfig::default()
    };
    let boot = BootstrapConfig {
        replicates: 200,
        ..BootstrapConfig::default()
    };
    let a = resample(&pairs, &config, &boot).unwrap();
    let b = resample(&pairs, &config, &boot).unwrap();
    assert_eq!(a, b, "same seed, same draws");
    assert_eq!(a.eer.len(), 200);
    assert_eq!(a.tar.len(), 2);
    // The replicates spread around the protocol's own EER.
    let full = eval_kit::heldout::evaluate(&emb, &config.fars).unwrap();
    let ci = percentile_interval(&a.eer, 0.95);
    assert!(
        ci.low < full.metrics.eer && full.metrics.eer < ci.high,
        "{ci:?}"
    );
    assert!(ci.high - ci.low > 0.0);
    // A run compared with itself differs by exactly zero on every replicate.
    let diff: Vec<f64> = a.eer.iter().zip(&b.eer).map(|(x, y)| x - y).collect();
    assert!(diff.iter().all(|&d| d == 0.0));
    // Means over runs: one run is itself; identical runs average to themselves.
    assert_eq!(mean_over_runs(&[&a.eer], 1).unwrap(), a.eer);
    let twice = mean_over_runs(&[&a.eer, &b.eer], 1).unwrap();
    for (m, x) in twice.iter().zip(&a.eer) {
        assert!((m - x).abs() < 1e-15);
    }
    let other = resample(&pairs, &config, &BootstrapConfig { seed: 1, ..boot }).unwrap();
    assert_ne!(a.eer, other.eer, "another seed draws other identities");
}

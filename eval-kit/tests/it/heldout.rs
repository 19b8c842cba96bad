//! Held-out all-pairs verification: pair scores, the too-small split, thresholds per FAR.

use eval_kit::heldout::{all_pair_scores, check_split, evaluate};
use eval_kit::HeldoutEmbeddings;

fn angle(deg: f32) -> [f32; 2] {
    let r = deg.to_radians();
    [r.cos(), r.sin()]
}

#[test]
fn every_pair_is_scored_once_by_cosine() {
    let mut emb = HeldoutEmbeddings::new(2);
    // Identity 0 at 0° and 10° (scaled: scoring normalizes), identity 1 at 90° and 100°.
    emb.push(0, &[3.0, 0.0]).unwrap();
    emb.push(0, &angle(10.0).map(|x| 2.0 * x)).unwrap();
    emb.push(1, &angle(90.0)).unwrap();
    emb.push(1, &angle(100.0)).unwrap();
    let (scores, genuine) = all_pair_scores(&emb);
    assert_eq!(genuine, vec![true, false, false, false, false, true]);
    // The f32 inputs are normalized and multiplied in f64: only their own rounding remains.
    let expected = [10.0f64, 90.0, 100.0, 80.0, 90.0, 10.0].map(|d| d.to_radians().cos());
    for (s, e) in scores.iter().zip(expected) {
        assert!((s - e).abs() < 1e-7, "{s} vs {e}");
    }
    let report = evaluate(&emb, &[0.25, 0.5]).unwrap();
    assert_eq!((report.identities, report.items), (2, 4));
    assert_eq!(
        (report.metrics.n_target, report.metrics.n_nontarget),
        (2, 4)
    );
    // Genuine scores (cos 10°) lie above every impostor (cos 80° at most): perfect separation.
    assert_eq!(report.metrics.eer, 0.0);
    assert_eq!(report.thresholds.len(), 2);
    for (t, row) in report.thresholds.iter().zip(&report.metrics.tar_at_far) {
        assert_eq!((t.far, t.threshold), (row.far, row.threshold));
        assert_eq!(row.tar, 1.0);
    }
    assert!(report.table().contains("EER 0.0000"));
    // 4 impostor pairs allow 1 and 2 false accepts at FAR 0.25 and 0.5: too few to report.
    assert_eq!(report.unresolved_fars, vec![0.25, 0.5]);
    assert!(
        report.table().contains("(needs 40 impostor pairs)"),
        "{}",
        report.table()
    );
}

#[test]
fn a_split_without_pairs_is_named_clearly() {
    let e = check_split(&[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "held-out split: 0 item(s) of 0 identities; verification needs at least 2 identities and one with 2 items"
    );
    assert!(
        check_split(&[5]).is_err(),
        "one identity has no impostor pairs"
    );
    assert!(
        check_split(&[1, 1]).is_err(),
        "no identity has a genuine pair"
    );
    check_split(&[1, 2]).unwrap();

    let mut emb = HeldoutEmbeddings::new(2);
    emb.push(0, &[1.0, 0.0]).unwrap();
    emb.skipped.push("a.jpg: truncated".into());
    let e = evaluate(&emb, &[0.1]).unwrap_err().to_string();
    assert!(
        e.contains("1 item(s) of 1 identity") && e.contains("1 unreadable item(s) skipped"),
        "{e}"
    );
    assert!(emb.push(0, &[1.0]).is_err(), "wrong dimension");
}

//! The sweep's CI grid on real speech (`speaker-app/sweeps/ci.toml`): Q-Margin and ArcFace
//! trained on 36 of the Debian voices (`asterisk-core-sounds-*-wav`, `klettres-data`,
//! `ktuberling-data`, installed by `.ci/run`) and verified on 10 others, each compared with its
//! own seeded starting weights with identity-bootstrap intervals. Skips with a message when the
//! packages are absent.

use std::path::Path;

use app_kit::sweep::spec::SweepSpec;
use app_kit::sweep::{run_sweep, SweepOptions};
use candle_core::Device;
use datasets::speech::debian::{discover_debian_voices, DEBIAN_PACKAGES, DEFAULT_DEBIAN_ROOT};
use serde_json::Value;
use speaker_app::train::SpeakerApp;

fn debian_present() -> bool {
    match discover_debian_voices(Path::new(DEFAULT_DEBIAN_ROOT)) {
        Ok(Some(_)) => true,
        _ => {
            eprintln!(
                "skipped: no Debian voices under {DEFAULT_DEBIAN_ROOT} (install {})",
                DEBIAN_PACKAGES.join(" ")
            );
            false
        }
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn debian_grid_trains_below_the_starting_weights_with_intervals() {
    if !debian_present() {
        return;
    }
    let spec =
        SweepSpec::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sweeps/ci.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = SweepOptions {
        out: dir.path().join("runs"),
        results: dir.path().join("RESULTS.md"),
        command: "speaker-app sweep --spec speaker-app/sweeps/ci.toml".into(),
        device: Device::Cpu,
    };
    run_sweep::<SpeakerApp>(&spec, &opts).unwrap();
    let json = read_json(&dir.path().join("results/speaker-ci/sweep.json"));
    let p = &json["protocols"][0];
    assert_eq!(p["protocol"], "debian");
    // 10 voices x 12 utterances: 10 * 66 genuine, 45 * 144 impostor trials.
    assert_eq!(
        (p["genuine_pairs"].as_u64(), p["impostor_pairs"].as_u64()),
        (Some(660), Some(6480))
    );
    let variants = p["variants"].as_array().unwrap();
    let start_eer = variants[0]["eer"]["mean"].as_f64().unwrap();
    assert_eq!(variants[0]["name"], "start");
    for v in &variants[1..] {
        let name = v["name"].as_str().unwrap();
        let eer = v["eer"]["mean"].as_f64().unwrap();
        let ci = &v["eer"]["ci"];
        let (lo, hi) = (ci["low"].as_f64().unwrap(), ci["high"].as_f64().unwrap());
        assert!(
            lo <= eer && eer <= hi && lo < hi,
            "{name}: {eer} [{lo}, {hi}]"
        );
        let report = read_json(
            &dir.path()
                .join(format!("runs/debian/{name}/seed-1/report.json")),
        );
        assert_eq!(
            report["heldout"]["metrics"]["eer"].as_f64(),
            Some(eer),
            "{name}"
        );
        eprintln!(
            "debian {name}: EER {:.2}% [{:.2}, {:.2}], starting weights {:.2}%",
            100.0 * eer,
            100.0 * lo,
            100.0 * hi,
            100.0 * start_eer
        );
        assert!(eer < 0.25, "{name}: held-out EER {eer} is not below 25 %");
        assert!(
            eer < start_eer - 0.04,
            "{name}: EER {eer} is not clearly below the starting weights' {start_eer}"
        );
    }
    let md = std::fs::read_to_string(&opts.results).unwrap();
    assert!(md.contains("<!-- sweep speaker-ci: begin -->"), "{md}");
}

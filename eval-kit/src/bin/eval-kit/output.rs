//! Printing results as JSON or as a table.

use std::io::Write;

use eval_kit::VerificationReport;

/// Prints `value` as one JSON object on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Formats a TAR@FAR table row by row.
pub fn tar_table(report: &VerificationReport) -> String {
    let mut s = String::from("      FAR        TAR   threshold\n");
    for row in &report.tar_at_far {
        s += &format!(
            "  {:>7.0e}  {:>8.4}%  {:>10.5}\n",
            row.far,
            100.0 * row.tar,
            row.threshold
        );
    }
    s
}

/// Prints the readable form of a report.
pub fn print_report(report: &VerificationReport) {
    println!(
        "trials: {} target, {} nontarget",
        report.n_target, report.n_nontarget
    );
    println!(
        "EER    = {:.3}%  (threshold {:.5})",
        100.0 * report.eer,
        report.eer_threshold
    );
    println!(
        "minDCF = {:.4}  (p_target {})",
        report.min_dcf, report.p_target
    );
    print!("{}", tar_table(report));
}

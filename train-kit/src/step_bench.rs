//! A harness for benchmarking whole train steps (forward, loss + backward, optimizer update),
//! shared by the apps' `train_step` benches so each bench only builds its model.
//!
//! It parses the common flags, runs candle's ops and ours interleaved on the same model (the
//! fast layers only exist on CPU; other devices run candle's ops alone), synchronizes the device
//! before reading each timer, and prints the median of each phase, images (or utterances) per
//! second and the speed ratio.

use std::time::Instant;

use candle_core::{bail, Device, Result};

use crate::conv::{set_implementation, Implementation};

/// Milliseconds spent in each phase of one train step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    /// Train-mode forward of the backbone.
    pub forward: f64,
    /// Head, loss and backward pass.
    pub backward: f64,
    /// The optimizer update.
    pub update: f64,
}

impl Phases {
    /// The whole step.
    pub fn total(&self) -> f64 {
        self.forward + self.backward + self.update
    }
}

/// Times the phases of one step on a device, synchronizing before each reading so that GPU
/// work queued by a phase is counted in that phase.
#[derive(Debug)]
pub struct PhaseTimer<'a> {
    device: &'a Device,
    start: Instant,
    phases: Phases,
}

impl<'a> PhaseTimer<'a> {
    /// Starts timing the forward phase.
    pub fn start(device: &'a Device) -> Result<Self> {
        device.synchronize()?;
        Ok(Self {
            device,
            start: Instant::now(),
            phases: Phases::default(),
        })
    }

    fn lap(&mut self) -> Result<f64> {
        self.device.synchronize()?;
        let ms = self.start.elapsed().as_secs_f64() * 1e3;
        self.start = Instant::now();
        Ok(ms)
    }

    /// Ends the forward phase.
    pub fn forward_done(&mut self) -> Result<()> {
        self.phases.forward = self.lap()?;
        Ok(())
    }

    /// Ends the loss + backward phase.
    pub fn backward_done(&mut self) -> Result<()> {
        self.phases.backward = self.lap()?;
        Ok(())
    }

    /// Ends the update phase and returns the step's phases.
    pub fn update_done(mut self) -> Result<Phases> {
        self.phases.update = self.lap()?;
        Ok(self.phases)
    }
}

/// The flags every train-step bench takes.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBenchOptions {
    /// Timed steps per implementation (after one warm-up step).
    pub reps: usize,
    /// Time only our fast layers (skip candle's ops).
    pub fast_only: bool,
    /// Model preset name, when given.
    pub model: Option<String>,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Loss name (the app maps it to an alpha-loss margin; default `softmax`).
    pub loss: String,
    /// Batch size, when given (each bench has its default).
    pub batch: Option<usize>,
    /// Classes of the margin head.
    pub classes: usize,
}

impl StepBenchOptions {
    /// Usage text for the flags parsed by [`StepBenchOptions::parse`].
    pub const USAGE: &'static str = "--quick (1 timed step), --reps N, --fast-only, --model NAME, \
         --device cpu|cuda|cuda:N, --loss NAME (default softmax), --batch N, --classes N (default 1000)";

    /// Parses the flags (unknown ones are an error naming them).
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut opts = Self {
            reps: 3,
            fast_only: false,
            model: None,
            device: "cpu".into(),
            loss: "softmax".into(),
            batch: None,
            classes: 1000,
        };
        let mut quick = false;
        let mut reps = None;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| candle_core::Error::Msg(format!("{flag} needs a value")))
            };
            match flag.as_str() {
                "--quick" => quick = true,
                "--fast-only" => opts.fast_only = true,
                "--reps" => reps = Some(parse_count(flag, &value()?)?),
                "--model" => opts.model = Some(value()?),
                "--device" => opts.device = value()?,
                "--loss" => opts.loss = value()?,
                "--batch" => opts.batch = Some(parse_count(flag, &value()?)?),
                "--classes" => opts.classes = parse_count(flag, &value()?)?,
                // `cargo bench` passes `--bench` to every bench binary.
                "--bench" => {}
                other => bail!("unknown flag {other:?}; expected {}", Self::USAGE),
            }
        }
        opts.reps = reps.unwrap_or(if quick { 1 } else { 3 });
        Ok(opts)
    }

    /// Opens the chosen device.
    pub fn open_device(&self) -> Result<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Device::new_cuda(0),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Device::new_cuda(n),
                _ => bail!("unknown --device {other:?}: expected cpu, cuda or cuda:N"),
            },
        }
    }

    /// The implementations to time: candle's and ours on CPU (unless `--fast-only`); elsewhere
    /// the fast layers fall back to candle's ops, so one run.
    pub fn implementations(&self, device: &Device) -> Vec<Implementation> {
        if self.fast_only || !device.is_cpu() {
            vec![Implementation::Fast]
        } else {
            vec![Implementation::Candle, Implementation::Fast]
        }
    }
}

fn parse_count(flag: &str, value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{flag} {value:?}: expected a whole number > 0"),
    }
}

/// The median phases and total of one implementation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTiming {
    /// Which layers ran.
    pub implementation: Implementation,
    /// Median of each phase.
    pub phases: Phases,
    /// Median of the whole step (not the sum of the phase medians).
    pub total: f64,
}

/// The median of `values` (the upper one for an even count); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs one warm-up step and `reps` timed steps of each implementation, interleaved, and
/// returns the medians. Leaves the fast layers selected.
pub fn time_steps(
    implementations: &[Implementation],
    reps: usize,
    mut step: impl FnMut() -> Result<Phases>,
) -> Result<Vec<StepTiming>> {
    let mut samples: Vec<Vec<Phases>> = vec![Vec::new(); implementations.len()];
    for rep in 0..=reps {
        for (kind, out) in implementations.iter().zip(samples.iter_mut()) {
            set_implementation(*kind);
            let phases = step()?;
            if rep > 0 {
                out.push(phases);
            }
        }
    }
    set_implementation(Implementation::Fast);
    Ok(implementations
        .iter()
        .zip(&samples)
        .map(|(kind, s)| StepTiming {
            implementation: *kind,
            phases: Phases {
                forward: median(s.iter().map(|p| p.forward).collect()),
                backward: median(s.iter().map(|p| p.backward).collect()),
                update: median(s.iter().map(|p| p.update).collect()),
            },
            total: median(s.iter().map(Phases::total).collect()),
        })
        .collect())
}

/// Formats the timing table: ms per phase, items per second, and the candle / ours ratio.
pub fn format_table(timings: &[StepTiming], batch: usize, unit: &str) -> String {
    let mut out = format!(
        "{:<10} {:>10} {:>10} {:>14} {:>10} {:>12}\n",
        "ops",
        "step ms",
        "forward",
        "loss+backward",
        "update",
        format!("{unit}/s")
    );
    for t in timings {
        let label = match t.implementation {
            Implementation::Candle => "candle",
            Implementation::Fast => "ours",
        };
        out.push_str(&format!(
            "{label:<10} {:>10.1} {:>10.1} {:>14.1} {:>10.1} {:>12.1}\n",
            t.total,
            t.phases.forward,
            t.phases.backward,
            t.phases.update,
            batch as f64 * 1e3 / t.total
        ));
    }
    if let [candle, ours] = timings {
        out.push_str(&format!(
            "speedup (candle / ours): {:.2}x\n",
            candle.total / ours.total
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_every_flag() {
        let o = StepBenchOptions::parse(&args(
            "--bench --reps 5 --fast-only --model r18 --device cuda:1 --loss qmargin --batch 128 --classes 85742",
        ))
        .unwrap();
        assert_eq!(o.reps, 5);
        assert!(o.fast_only);
        assert_eq!(o.model.as_deref(), Some("r18"));
        assert_eq!(o.device, "cuda:1");
        assert_eq!(o.loss, "qmargin");
        assert_eq!(o.batch, Some(128));
        assert_eq!(o.classes, 85742);
        assert_eq!(StepBenchOptions::parse(&args("--quick")).unwrap().reps, 1);
        assert_eq!(StepBenchOptions::parse(&[]).unwrap().reps, 3);
    }

    #[test]
    fn bad_flags_are_named() {
        let err = StepBenchOptions::parse(&args("--reps zero")).unwrap_err();
        assert!(err.to_string().contains("--reps \"zero\""), "{err}");
        let err = StepBenchOptions::parse(&args("--batch 0")).unwrap_err();
        assert!(err.to_string().contains("--batch"), "{err}");
        let err = StepBenchOptions::parse(&args("--model")).unwrap_err();
        assert!(err.to_string().contains("--model needs a value"), "{err}");
        let err = StepBenchOptions::parse(&args("--speed")).unwrap_err();
        assert!(err.to_string().contains("\"--speed\""), "{err}");
        let opts = StepBenchOptions::parse(&args("--device tpu")).unwrap();
        let err = opts.open_device().unwrap_err();
        assert!(err.to_string().contains("\"tpu\""), "{err}");
    }

    #[test]
    fn cpu_compares_both_and_other_devices_run_one() {
        let opts = StepBenchOptions::parse(&[]).unwrap();
        assert_eq!(
            opts.implementations(&Device::Cpu),
            vec![Implementation::Candle, Implementation::Fast]
        );
        let fast = StepBenchOptions::parse(&args("--fast-only")).unwrap();
        assert_eq!(
            fast.implementations(&Device::Cpu),
            vec![Implementation::Fast]
        );
    }

    #[test]
    fn medians_are_taken_per_phase_and_per_step() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(Vec::new()).is_nan());
        // Steps alternate between two shapes; the total's median is of whole steps.
        let steps = [
            Phases {
                forward: 10.0,
                backward: 1.0,
                update: 1.0,
            },
            Phases {
                forward: 1.0,
                backward: 10.0,
                update: 1.0,
            },
            Phases {
                forward: 10.0,
                backward: 1.0,
                update: 1.0,
            },
        ];
        let mut i = 0;
        let t = time_steps(&[Implementation::Fast], 3, || {
            // The warm-up step is the first call and is dropped.
            let p = if i == 0 {
                Phases {
                    forward: 1e6,
                    ..Default::default()
                }
            } else {
                steps[i - 1]
            };
            i += 1;
            Ok(p)
        })
        .unwrap();
        assert_eq!(i, 4);
        assert_eq!(t[0].phases.forward, 10.0);
        assert_eq!(t[0].phases.backward, 1.0);
        assert_eq!(t[0].total, 12.0);
        let table = format_table(&t, 32, "images");
        // 32 images in 12 ms.
        assert!(table.contains("2666.7"), "{table}");
    }
}

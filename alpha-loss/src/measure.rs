//! The reference measure q of the α-divergence loss: a strictly positive weight per class, shared
//! by all rows or given per row, optionally with the target class's weight scaled (Q-Margin).

use candle_core::{bail, DType, Device, Result, Tensor};

/// The measure before any target scaling.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Base {
    /// q_j = c for every class (q = 1 is the unit measure, q = 1/C the uniform probability).
    Constant(f64),
    /// One vector `[C]` shared by every row, with its sum.
    Shared { q: Vec<f64>, sum: f64 },
    /// One vector per row, `[B, C]` row-major, with the per-row sums.
    PerRow {
        q: Vec<f64>,
        classes: usize,
        sums: Vec<f64>,
    },
}

/// A strictly positive reference measure q over the classes.
///
/// `q` need not sum to one: its scale matters for α > 1 (q = 1 gives far sparser posteriors than
/// q = 1/C). The target factor multiplies q_y of each row's own target class, which is how
/// Q-Margin puts the margin into the measure; it is 1 for a plain measure.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceMeasure {
    pub(crate) base: Base,
    pub(crate) target_factor: f64,
}

impl ReferenceMeasure {
    /// The unit measure q_j = 1 (the α-loss then equals entmax's Tsallis loss).
    pub fn unit() -> Self {
        Self::constant(1.0).expect("1 is a valid constant measure")
    }

    /// The uniform probability measure q_j = 1/C.
    pub fn uniform(num_classes: usize) -> Result<Self> {
        if num_classes == 0 {
            bail!("uniform reference measure: the number of classes must be at least 1");
        }
        Self::constant(1.0 / num_classes as f64)
    }

    /// q_j = c for every class; c must be finite and > 0.
    pub fn constant(c: f64) -> Result<Self> {
        if !(c.is_finite() && c > 0.0) {
            bail!("reference measure q must be strictly positive and finite, got the constant {c}");
        }
        Ok(Self {
            base: Base::Constant(c),
            target_factor: 1.0,
        })
    }

    /// Reads q from a tensor of shape `[C]` (shared) or `[B, C]` (per row) for logits `[B, C]`.
    /// Every entry must be finite and strictly positive.
    pub fn from_tensor(q: &Tensor, batch: usize, classes: usize) -> Result<Self> {
        let values: Vec<f64> = q.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
        if let Some((index, value)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            bail!(
                "reference measure q must be strictly positive and finite, but q{:?} at flat index {index} is {value}",
                q.dims()
            );
        }
        let base = match q.dims() {
            [c] if *c == classes => Base::Shared {
                sum: values.iter().sum(),
                q: values,
            },
            [b, c] if *b == batch && *c == classes => Base::PerRow {
                sums: values.chunks(classes.max(1)).map(|r| r.iter().sum()).collect(),
                q: values,
                classes,
            },
            dims => bail!(
                "reference measure q has shape {dims:?}, expected [{classes}] or [{batch}, {classes}] for logits [{batch}, {classes}]"
            ),
        };
        Ok(Self {
            base,
            target_factor: 1.0,
        })
    }

    /// Multiplies each row's target weight q_y by `factor` (> 0, finite). Q-Margin uses ρ ∈ (0, 1].
    pub fn with_target_factor(mut self, factor: f64) -> Result<Self> {
        if !(factor.is_finite() && factor > 0.0) {
            bail!(
                "the target factor of the reference measure must be finite and > 0, got {factor}"
            );
        }
        self.target_factor = factor;
        Ok(self)
    }

    /// The factor applied to each row's target weight (1 for a plain measure).
    pub fn target_factor(&self) -> f64 {
        self.target_factor
    }

    /// Checks that the measure fits logits `[batch, classes]`.
    pub(crate) fn check_fits(&self, batch: usize, classes: usize) -> Result<()> {
        match &self.base {
            Base::Constant(_) => Ok(()),
            Base::Shared { q, .. } if q.len() == classes => Ok(()),
            Base::PerRow { q, classes: c, .. } if *c == classes && q.len() == batch * classes => {
                Ok(())
            }
            Base::Shared { q, .. } => bail!(
                "reference measure q has {} classes but the logits have {classes}",
                q.len()
            ),
            Base::PerRow { q, classes: c, .. } => bail!(
                "reference measure q is [{}, {c}] but the logits are [{batch}, {classes}]",
                q.len() / (*c).max(1)
            ),
        }
    }

    /// The view of row `b`, with `target` the row's target class (None: no target scaling).
    pub(crate) fn row(&self, b: usize, target: Option<usize>) -> RowMeasure<'_> {
        let (base, base_sum) = match &self.base {
            Base::Constant(c) => (RowBase::Constant(*c), f64::NAN),
            Base::Shared { q, sum } => (RowBase::Slice(q), *sum),
            Base::PerRow { q, classes, sums } => {
                (RowBase::Slice(&q[b * classes..(b + 1) * classes]), sums[b])
            }
        };
        RowMeasure {
            base,
            base_sum,
            target: if self.target_factor == 1.0 {
                None
            } else {
                target
            },
            factor: self.target_factor,
        }
    }

    /// The measure as a tensor `[B, C]` (or `[C]` when it is the same for every row), for the
    /// device-generic path.
    pub(crate) fn to_tensor(
        &self,
        targets: Option<&[u32]>,
        batch: usize,
        classes: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Tensor> {
        let scaled = self.target_factor != 1.0 && targets.is_some();
        let shared: Option<Vec<f64>> = match &self.base {
            Base::Constant(c) => Some(vec![*c; classes]),
            Base::Shared { q, .. } => Some(q.clone()),
            Base::PerRow { .. } => None,
        };
        let t = match (shared, scaled) {
            (Some(q), false) => Tensor::from_vec(q, classes, device)?,
            _ => {
                let mut full = Vec::with_capacity(batch * classes);
                for b in 0..batch {
                    let target = targets.map(|t| t[b] as usize);
                    let row = self.row(b, target);
                    full.extend((0..classes).map(|j| row.q(j)));
                }
                Tensor::from_vec(full, (batch, classes), device)?
            }
        };
        t.to_dtype(dtype)
    }
}

/// The per-row base weights.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowBase<'a> {
    Constant(f64),
    Slice(&'a [f64]),
}

/// One row's measure: base weights plus the optional target scaling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowMeasure<'a> {
    pub(crate) base: RowBase<'a>,
    base_sum: f64,
    target: Option<usize>,
    factor: f64,
}

impl RowMeasure<'_> {
    /// q_j, including the target scaling.
    #[inline]
    pub(crate) fn q(&self, j: usize) -> f64 {
        let base = match self.base {
            RowBase::Constant(c) => c,
            RowBase::Slice(q) => q[j],
        };
        if self.target == Some(j) {
            base * self.factor
        } else {
            base
        }
    }

    /// Σ_j q_j over `classes` classes, including the target scaling.
    pub(crate) fn sum(&self, classes: usize) -> f64 {
        let base_sum = match self.base {
            RowBase::Constant(c) => c * classes as f64,
            RowBase::Slice(_) => self.base_sum,
        };
        match self.target {
            Some(y) => base_sum + self.q_base(y) * (self.factor - 1.0),
            None => base_sum,
        }
    }

    fn q_base(&self, j: usize) -> f64 {
        match self.base {
            RowBase::Constant(c) => c,
            RowBase::Slice(q) => q[j],
        }
    }
}

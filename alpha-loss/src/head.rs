//! The margin head: class prototypes W `[C, D]`, cosine logits, the margin and the loss.

use candle_core::{bail, DType, Result, Tensor, Var, D};
use candle_nn::{Init, VarBuilder};

use crate::loss::{alpha_loss, Backend, Telemetry};
use crate::margin::{apply_logit_margin, BaseMeasure, LogitMargin, Margin, MarginSpec};
use crate::measure::ReferenceMeasure;

/// The loss of one batch and its telemetry.
#[derive(Debug, Clone)]
pub struct HeadOutput {
    /// Mean loss over the batch (a scalar to call `backward` on).
    pub loss: Tensor,
    /// Loss, mean p_y, fraction with p_y = 0, mean and max support size.
    pub telemetry: Telemetry,
}

/// Owns the prototypes W `[C, D]` (created through the VarBuilder under the name `weight`, so
/// they checkpoint with the model), computes cosine logits between L2-normalized embeddings and
/// prototypes, applies the margin and returns the loss with telemetry.
#[derive(Debug, Clone)]
pub struct MarginHead {
    weight: Tensor,
    spec: MarginSpec,
    num_classes: usize,
    embedding_dim: usize,
    backend: Backend,
}

/// Floor on vector norms before normalization.
const NORM_EPS: f64 = 1e-12;

/// Rows of `x` `[N, D]` divided by their L2 norm.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(NORM_EPS, f64::MAX)?;
    x.broadcast_div(&norm)
}

impl MarginHead {
    /// Creates the head; prototypes start as N(0, 0.01²) like arcface_torch's.
    pub fn new(
        margin: Margin,
        num_classes: usize,
        embedding_dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let spec = margin.spec();
        spec.validate()?;
        if num_classes == 0 || embedding_dim == 0 {
            bail!("margin head: num_classes ({num_classes}) and embedding_dim ({embedding_dim}) must be > 0");
        }
        let weight = vb.get_with_hints(
            (num_classes, embedding_dim),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: 0.01,
            },
        )?;
        Ok(Self {
            weight,
            spec,
            num_classes,
            embedding_dim,
            backend: Backend::Auto,
        })
    }

    /// Chooses the loss implementation (default [`Backend::Auto`]).
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// The prototypes `[C, D]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The resolved margin settings.
    pub fn spec(&self) -> &MarginSpec {
        &self.spec
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Replaces the angular (or additive) margin value, so schedules can drive it (e.g.
    /// wespeaker's margin warm-up). Q-Margin's ρ is set with [`Self::set_target_prior`].
    pub fn set_margin(&mut self, m: f64) {
        match &mut self.spec.logit {
            LogitMargin::None => {}
            LogitMargin::Additive { m: v } | LogitMargin::Angular { m: v, .. } => *v = m,
            LogitMargin::Combined { m2, .. } => *m2 = m,
        }
    }

    /// Replaces Q-Margin's target prior ρ ∈ (0, 1].
    pub fn set_target_prior(&mut self, rho: f64) -> Result<()> {
        let mut spec = self.spec;
        spec.loss.target_prior = rho;
        spec.validate()?;
        self.spec = spec;
        Ok(())
    }

    /// Cosines between L2-normalized embeddings `[B, D]` and prototypes: `[B, C]`.
    pub fn cosines(&self, embeddings: &Tensor) -> Result<Tensor> {
        let (_, dim) = embeddings.dims2()?;
        if dim != self.embedding_dim {
            bail!(
                "margin head: embeddings have dimension {dim}, the prototypes {}",
                self.embedding_dim
            );
        }
        let e = l2_normalize(embeddings)?;
        let w = l2_normalize(&self.weight)?;
        e.matmul(&w.t()?)
    }

    /// Margin-penalized, scaled logits `[B, C]` for `labels` `[B]` (u32).
    pub fn logits(&self, embeddings: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let cos = self.cosines(embeddings)?;
        apply_logit_margin(&cos, labels, &self.spec.logit, self.spec.scale)
    }

    /// The reference measure this head's loss uses.
    pub fn measure(&self) -> Result<ReferenceMeasure> {
        let base = match self.spec.loss.base {
            BaseMeasure::Unit => ReferenceMeasure::unit(),
            BaseMeasure::Uniform => ReferenceMeasure::uniform(self.num_classes)?,
        };
        base.with_target_factor(self.spec.loss.target_prior)
    }

    /// Mean loss over the batch and its telemetry.
    pub fn forward(&self, embeddings: &Tensor, labels: &Tensor) -> Result<HeadOutput> {
        let labels = labels.to_dtype(DType::U32)?;
        let logits = self.logits(embeddings, &labels)?;
        let out = alpha_loss(
            &logits,
            &labels,
            &self.measure()?,
            self.spec.loss.alpha,
            self.backend,
        )?;
        Ok(HeadOutput {
            loss: out.loss.mean_all()?,
            telemetry: out.stats,
        })
    }

    /// A3M-I: re-initializes prototypes from class-mean embeddings. `class_means` is `[C, D]`
    /// for all classes (`classes = None`) or `[K, D]` for the K classes listed. Each new
    /// prototype is the normalized mean scaled to the old row's norm, so the optimizer sees rows
    /// of the same size; a class whose mean is zero keeps its prototype. The app should also clear
    /// the optimizer state (momentum) of the rows it re-initializes.
    pub fn reinit_prototypes(&self, class_means: &Tensor, classes: Option<&[u32]>) -> Result<()> {
        let (rows, dim) = class_means.dims2()?;
        if dim != self.embedding_dim {
            bail!(
                "A3M-I: class means have dimension {dim}, the prototypes {}",
                self.embedding_dim
            );
        }
        let device = self.weight.device();
        let dtype = self.weight.dtype();
        let means = class_means.to_device(device)?.to_dtype(dtype)?;
        let (full_means, mask) = match classes {
            None => {
                if rows != self.num_classes {
                    bail!(
                        "A3M-I: got {rows} class means for {} classes",
                        self.num_classes
                    );
                }
                (means, Tensor::ones((self.num_classes, 1), dtype, device)?)
            }
            Some(list) => {
                if list.len() != rows {
                    bail!(
                        "A3M-I: {} classes listed but {rows} class means given",
                        list.len()
                    );
                }
                if let Some(bad) = list.iter().find(|c| **c as usize >= self.num_classes) {
                    bail!("A3M-I: class {bad} is out of range 0..{}", self.num_classes);
                }
                let index = Tensor::from_slice(list, rows, device)?;
                let zeros = Tensor::zeros((self.num_classes, dim), dtype, device)?;
                let full = zeros.index_add(&index, &means, 0)?;
                let mask = Tensor::zeros((self.num_classes, 1), dtype, device)?.index_add(
                    &index,
                    &Tensor::ones((rows, 1), dtype, device)?,
                    0,
                )?;
                (full, mask.clamp(0.0, 1.0)?)
            }
        };
        let old = self.weight.detach();
        let old_norm = old.sqr()?.sum_keepdim(1)?.sqrt()?;
        let mean_norm = full_means.sqr()?.sum_keepdim(1)?.sqrt()?;
        let usable = mean_norm.gt(0.0)?.to_dtype(dtype)?.mul(&mask)?;
        let new_rows = full_means
            .broadcast_div(&mean_norm.clamp(NORM_EPS, f64::MAX)?)?
            .broadcast_mul(&old_norm)?;
        let keep = (1.0 - &usable)?;
        let updated = (old.broadcast_mul(&keep)? + new_rows.broadcast_mul(&usable)?)?;
        if !self.weight.is_variable() {
            bail!("A3M-I: the prototypes are not a variable (build the head from a VarMap)");
        }
        Var::from_tensor(&self.weight)?.set(&updated)
    }
}

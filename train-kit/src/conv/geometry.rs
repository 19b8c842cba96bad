//! The sizes of one 2-D convolution, checked once so the kernels can trust them.

use candle_core::{bail, Result, Shape};

/// Stride, padding and dilation as `[height, width]`, plus the group count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvParams {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
}

/// Every size of a 2-D convolution of an `(N, C_in, H, W)` input with a
/// `(C_out, C_in / groups, KH, KW)` weight, giving an `(N, C_out, OH, OW)` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub in_hw: [usize; 2],
    pub kernel_hw: [usize; 2],
    pub out_hw: [usize; 2],
    pub params: ConvParams,
}

impl ConvGeometry {
    /// Checks an input and a weight shape against `params` and derives the output size.
    pub fn new(input: &Shape, weight: &Shape, params: ConvParams) -> Result<Self> {
        let (batch, in_channels, h, w) = match input.dims() {
            &[n, c, h, w] => (n, c, h, w),
            dims => bail!("conv2d: input must be (N, C_in, H, W), got shape {dims:?}"),
        };
        let (out_channels, group_in, kh, kw) = match weight.dims() {
            &[o, i, kh, kw] => (o, i, kh, kw),
            dims => bail!("conv2d: weight must be (C_out, C_in / groups, KH, KW), got {dims:?}"),
        };
        let groups = params.groups;
        if groups == 0 {
            bail!("conv2d: groups must be at least 1, got 0");
        }
        if in_channels % groups != 0 || out_channels % groups != 0 {
            bail!(
                "conv2d: groups={groups} must divide both input channels ({in_channels}) \
                 and output channels ({out_channels})"
            );
        }
        if group_in * groups != in_channels {
            bail!(
                "conv2d: weight {:?} expects {} input channels with groups={groups}, \
                 but the input {:?} has {in_channels}",
                weight.dims(),
                group_in * groups,
                input.dims()
            );
        }
        if params.stride.contains(&0) || params.dilation.contains(&0) {
            bail!(
                "conv2d: stride {:?} and dilation {:?} must be at least 1",
                params.stride,
                params.dilation
            );
        }
        if kh == 0 || kw == 0 {
            bail!(
                "conv2d: kernel size must be at least 1, got weight {:?}",
                weight.dims()
            );
        }
        let mut out_hw = [0; 2];
        for (axis, (&size, &k)) in [h, w].iter().zip(&[kh, kw]).enumerate() {
            let padded = size + 2 * params.padding[axis];
            let span = params.dilation[axis] * (k - 1) + 1;
            if padded < span {
                bail!(
                    "conv2d: input {:?} with padding {:?} is smaller than the dilated kernel \
                     (weight {:?}, dilation {:?})",
                    input.dims(),
                    params.padding,
                    weight.dims(),
                    params.dilation
                );
            }
            out_hw[axis] = (padded - span) / params.stride[axis] + 1;
        }
        Ok(Self {
            batch,
            in_channels,
            out_channels,
            in_hw: [h, w],
            kernel_hw: [kh, kw],
            out_hw,
            params,
        })
    }

    /// Input channels in one group.
    pub fn group_in_channels(&self) -> usize {
        self.in_channels / self.params.groups
    }

    /// Output channels in one group.
    pub fn group_out_channels(&self) -> usize {
        self.out_channels / self.params.groups
    }

    /// Elements of one input image (`C_in * H * W`).
    pub fn image_len(&self) -> usize {
        self.in_channels * self.in_hw[0] * self.in_hw[1]
    }

    /// Elements of one output image (`C_out * OH * OW`).
    pub fn out_image_len(&self) -> usize {
        self.out_channels * self.out_pixels()
    }

    /// Output pixels per channel (`OH * OW`).
    pub fn out_pixels(&self) -> usize {
        self.out_hw[0] * self.out_hw[1]
    }

    /// Input pixels per channel (`H * W`).
    pub fn in_pixels(&self) -> usize {
        self.in_hw[0] * self.in_hw[1]
    }

    /// Rows of the im2col matrix of one group: `C_in / groups * KH * KW`.
    pub fn patch_len(&self) -> usize {
        self.group_in_channels() * self.kernel_hw[0] * self.kernel_hw[1]
    }

    /// Elements of the weight.
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }

    /// The output shape `(N, C_out, OH, OW)`.
    pub fn out_shape(&self) -> Shape {
        Shape::from((
            self.batch,
            self.out_channels,
            self.out_hw[0],
            self.out_hw[1],
        ))
    }

    /// True when the im2col matrix is the input itself (1x1 kernel, stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        self.kernel_hw == [1, 1] && self.params.stride == [1, 1] && self.params.padding == [0, 0]
    }

    /// True for a depthwise convolution with one output channel per input channel.
    pub fn is_depthwise(&self) -> bool {
        self.group_in_channels() == 1 && self.group_out_channels() == 1
    }
}

/// The output positions `o` in `0..out_len` whose input position `o * stride + offset` lies in
/// `0..in_len`; positions outside read the zero padding.
pub(crate) fn valid_outputs(
    out_len: usize,
    in_len: usize,
    stride: usize,
    offset: isize,
) -> std::ops::Range<usize> {
    let stride = stride as isize;
    let first = if offset >= 0 {
        0
    } else {
        (-offset + stride - 1) / stride
    };
    let last_in = in_len as isize - 1 - offset;
    let end = if last_in < 0 {
        0
    } else {
        (last_in / stride + 1).min(out_len as isize)
    };
    let first = (first as usize).min(out_len);
    first..(end.max(0) as usize).max(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(stride: usize, padding: usize, groups: usize) -> ConvParams {
        ConvParams {
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [1; 2],
            groups,
        }
    }

    #[test]
    fn output_size_matches_the_usual_formula() {
        let g = ConvGeometry::new(
            &Shape::from((2, 8, 7, 9)),
            &Shape::from((4, 4, 3, 3)),
            params(2, 1, 2),
        )
        .unwrap();
        assert_eq!(g.out_hw, [4, 5]);
        assert_eq!(g.patch_len(), 36);
    }

    #[test]
    fn mismatched_channels_name_both_shapes() {
        let err = ConvGeometry::new(
            &Shape::from((2, 8, 7, 7)),
            &Shape::from((4, 3, 3, 3)),
            params(1, 0, 1),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[4, 3, 3, 3]") && err.contains("[2, 8, 7, 7]"),
            "{err}"
        );
    }

    #[test]
    fn valid_outputs_skips_the_padding() {
        // in 0..5, stride 1, offset -1: output 0 reads -1 (padding), 1..=5 read 0..=4.
        assert_eq!(valid_outputs(6, 5, 1, -1), 1..6);
        // stride 2, offset 1: inputs 1, 3 (5 is out) -> outputs 0, 1.
        assert_eq!(valid_outputs(4, 5, 2, 1), 0..2);
        // offset beyond the input.
        assert_eq!(valid_outputs(3, 2, 1, 5), 0..0);
        // stride 2, offset -3: output o reads 2o-3; valid for o=2 (1), o=3 (3).
        assert_eq!(valid_outputs(4, 5, 2, -3), 2..4);
    }
}

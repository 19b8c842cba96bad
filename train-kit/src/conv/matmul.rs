//! A bounds-checked front for the `gemm` crate's matrix product on strided slices.

use gemm::Parallelism;

use super::elem::ConvElem;

/// A read-only strided matrix view: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `dst = lhs * rhs` (or `dst += lhs * rhs` when `accumulate`), `dst` row-major
/// `lhs.rows x rhs.cols` with rows `dst_row_stride` apart.
///
/// Panics if the shapes disagree: callers derive them from a checked `ConvGeometry`.
pub(crate) fn matmul_into<T: ConvElem>(
    dst: &mut [T],
    dst_row_stride: usize,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
    parallelism: Parallelism,
) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner sizes differ");
    if m == 0 || n == 0 {
        return;
    }
    let dst_fits = dst_row_stride >= n && dst.len() > (m - 1) * dst_row_stride + (n - 1);
    assert!(
        dst_fits && lhs.fits() && rhs.fits(),
        "matmul: view out of bounds"
    );
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_row_stride).take(m) {
                row[..n].fill(T::zero());
            }
        }
        return;
    }
    // SAFETY: every index the product touches lies inside the slices (checked just above:
    // rows of `dst` are `dst_row_stride >= n` apart and the last element is in bounds, and both
    // views fit their data). `T` is f32 or f64, which `gemm` supports; `dst` is exclusively
    // borrowed so it cannot alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_accumulate_match_a_naive_loop() {
        let a: Vec<f64> = (0..6).map(f64::from).collect(); // 2x3
        let b: Vec<f64> = (0..12).map(|v| f64::from(v) * 0.5).collect(); // 3x4
        let mut naive = vec![0.0; 8];
        for i in 0..2 {
            for j in 0..4 {
                naive[i * 4 + j] = (0..3).map(|p| a[i * 3 + p] * b[p * 4 + j]).sum();
            }
        }
        let mut dst = vec![7.0; 8];
        let (lhs, rhs) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 4));
        matmul_into(&mut dst, 4, lhs, rhs, false, Parallelism::None);
        assert_eq!(dst, naive);
        matmul_into(&mut dst, 4, lhs, rhs, true, Parallelism::None);
        let doubled: Vec<f64> = naive.iter().map(|v| 2.0 * v).collect();
        assert_eq!(dst, doubled);
        // (b^T a^T)^T = a b: through transposed views.
        // Into every other column of a wider matrix: the gaps stay untouched.
        let mut t = vec![-1.0; 4 * 3];
        matmul_into(&mut t, 3, rhs.t(), lhs.t(), false, Parallelism::None);
        for j in 0..4 {
            assert_eq!(t[j * 3 + 2], -1.0);
            for i in 0..2 {
                assert_eq!(t[j * 3 + i], naive[i * 4 + j]);
            }
        }
    }
}

//! The per-thread choice between the fast kernels and candle's own ops.
//!
//! Every layer and function of [`crate::conv`] reads it on each call, so one backbone can be
//! run (and differentiated) with either implementation on the same weights: tests compare the
//! two, benchmarks time them. The default is [`Implementation::Fast`]. The choice belongs to the
//! thread that runs the forward pass (which fixes the op graph), so a test that flips it cannot
//! change the numbers of a training run on another test thread.

use std::cell::Cell;

/// Which kernels the `conv` layers and functions run on CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// candle's own ops (`Tensor::conv2d`, candle-nn's batch norm and PReLU) everywhere.
    Candle,
    /// train-kit's custom ops on CPU for f32/f64 (the default); candle's ops elsewhere.
    Fast,
}

thread_local! {
    static CURRENT: Cell<Implementation> = const { Cell::new(Implementation::Fast) };
}

/// The implementation the `conv` layers use now on this thread.
pub fn implementation() -> Implementation {
    CURRENT.with(Cell::get)
}

/// Sets the implementation for the calling thread and returns the previous one.
///
/// Other threads keep theirs (new threads start with [`Implementation::Fast`]);
/// [`with_implementation`] restores the previous value afterwards.
pub fn set_implementation(choice: Implementation) -> Implementation {
    CURRENT.with(|c| c.replace(choice))
}

/// Runs `f` with `choice` set, then restores the previous implementation (also on panic).
///
/// Backward passes read the choice made when their forward ran (the op graph is fixed then),
/// so a forward and its `backward()` may sit inside one call or not.
pub fn with_implementation<R>(choice: Implementation, f: impl FnOnce() -> R) -> R {
    struct Restore(Implementation);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_implementation(self.0);
        }
    }
    let _restore = Restore(set_implementation(choice));
    f()
}

/// True when the fast kernels are selected.
pub(crate) fn fast_selected() -> bool {
    implementation() == Implementation::Fast
}

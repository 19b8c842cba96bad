//! The process-wide choice between the fast kernels and candle's own ops.
//!
//! Every layer and function of [`crate::conv`] reads it on each call, so one backbone can be
//! run (and differentiated) with either implementation on the same weights: tests compare the
//! two, benchmarks time them. The default is [`Implementation::Fast`].

use std::sync::atomic::{AtomicU8, Ordering};

/// Which kernels the `conv` layers and functions run on CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Implementation {
    /// candle's own ops (`Tensor::conv2d`, candle-nn's batch norm and PReLU) everywhere.
    Candle,
    /// train-kit's custom ops on CPU for f32/f64 (the default); candle's ops elsewhere.
    Fast,
}

static CURRENT: AtomicU8 = AtomicU8::new(Implementation::Fast as u8);

/// The implementation the `conv` layers use now (process-wide).
pub fn implementation() -> Implementation {
    if CURRENT.load(Ordering::Relaxed) == Implementation::Candle as u8 {
        Implementation::Candle
    } else {
        Implementation::Fast
    }
}

/// Sets the implementation for the whole process and returns the previous one.
///
/// Affects every thread, so tests that flip it must not run concurrently with tests that
/// depend on it; [`with_implementation`] restores the previous value afterwards.
pub fn set_implementation(choice: Implementation) -> Implementation {
    let previous = CURRENT.swap(choice as u8, Ordering::Relaxed);
    if previous == Implementation::Candle as u8 {
        Implementation::Candle
    } else {
        Implementation::Fast
    }
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

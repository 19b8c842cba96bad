//! Allocator tuning for candle training binaries.
//!
//! glibc serves every allocation above 128 KiB with a fresh `mmap` and returns it with `munmap`,
//! so each training step page-faults all of its large tensors again. On our 2-core machine that
//! made a 256×512·512×85742 matmul fwd+bwd 713 → 404 ms/step and an IResNet block 2232 → 1579
//! ms/step (stack probe, idle machine). `benches/alloc_matmul.rs` reproduces the matmul case,
//! each mode in its own process: on 2026-11-28 with ~5 builds sharing the 2 cores (load 11) it
//! gave a median of 11491 ms/step with glibc defaults and 8721 ms/step tuned (5 steps each).
//!
//! **Apps should call [`tune_glibc_malloc`] first thing in `main`.** It needs no new dependency
//! and no global-allocator choice (a `#[global_allocator]` such as mimalloc would have to be
//! chosen by each binary, adds a C build, and was not measured here), and it keeps freed memory
//! in the heap for reuse by the next step. The cost: the process keeps its peak heap size.

/// The heap growth step (`M_TOP_PAD`) that [`tune_glibc_malloc`] sets: 64 MiB.
pub const TOP_PAD_BYTES: i32 = 64 << 20;

/// Makes glibc keep large tensor buffers in the heap instead of `mmap`ing them anew every step.
///
/// Sets `M_MMAP_MAX = 0`, `M_TRIM_THRESHOLD = -1` (never give memory back) and
/// `M_TOP_PAD = 64 MiB`. Returns `true` when all three were accepted, `false` off glibc (where
/// it does nothing) or if glibc refused one. Call it once at the start of `main`, before
/// threads start allocating; the process keeps its peak heap size until it exits.
pub fn tune_glibc_malloc() -> bool {
    tune_impl()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_impl() -> bool {
    // SAFETY: mallopt only changes allocator parameters; any value is valid input.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
            && libc::mallopt(libc::M_TOP_PAD, TOP_PAD_BYTES) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_impl() -> bool {
    false
}

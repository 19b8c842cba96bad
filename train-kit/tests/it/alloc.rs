//! The glibc malloc tuning switch.

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_glibc_malloc_is_accepted_on_glibc() {
    assert!(train_kit::alloc::tune_glibc_malloc());
    // Allocation still works with mmap disabled, including a block above the old mmap threshold.
    let big = vec![1u8; 8 << 20];
    assert_eq!(big.iter().map(|&b| b as usize).sum::<usize>(), 8 << 20);
}

//! Integration tests of train-kit's training core (conv kernels have their own test files).

mod alloc;
mod checkpoint;
mod fit;
mod guard;
mod metrics;
mod mlp;
mod optim_groups;
mod optim_torch;
mod resume;
mod schedule;

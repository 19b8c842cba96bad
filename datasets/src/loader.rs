//! The format-agnostic loader: multi-threaded decode, bounded prefetch, deterministic shuffling, resumable position.

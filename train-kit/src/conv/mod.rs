//! Fast CPU convolution layers (candle custom ops with their own backward).

//! Speech data: audio decoding and resampling, VoxCeleb / wespeaker / Kaldi lists, chunks, synthetic and Debian voices.

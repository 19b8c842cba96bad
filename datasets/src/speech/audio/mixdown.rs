//! Mixing interleaved multi-channel audio down to one channel.

/// Averages the channels of interleaved audio into one channel.
///
/// `channels == 1` returns a copy; a trailing partial frame is ignored; `channels == 0` gives an empty result.
pub fn mix_to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        n => {
            let scale = 1.0 / n as f32;
            interleaved
                .chunks_exact(n)
                .map(|frame| frame.iter().sum::<f32>() * scale)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_frames_are_averaged() {
        let mono = mix_to_mono(&[1.0, 0.0, 0.5, -0.5, -1.0, -1.0], 2);
        assert_eq!(mono, vec![0.5, 0.0, -1.0]);
    }

    #[test]
    fn mono_is_unchanged() {
        assert_eq!(mix_to_mono(&[0.25, -0.25], 1), vec![0.25, -0.25]);
    }
}

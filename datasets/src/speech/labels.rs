//! The label space of speed-perturbed training: wespeaker's speed perturbation treats a speaker
//! played at another speed as another class, so speaker `s` of `N` at speed index `k` is class
//! `s + k·N`.

/// The speed factors of wespeaker's speed perturbation, in label order.
pub const SPEEDS: [f64; 3] = [1.0, 0.9, 1.1];

/// Speakers × speeds, and the items of a source over `utterances × speeds`: item `i` is
/// utterance `i % U` at speed index `i / U`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedLabels {
    speakers: usize,
    utterances: usize,
    speeds: Vec<f64>,
}

impl SpeedLabels {
    /// `speakers` speakers over `utterances` utterances, at every speed of [`SPEEDS`] when
    /// `perturb`, else at speed 1 only.
    pub fn new(speakers: usize, utterances: usize, perturb: bool) -> Self {
        Self {
            speakers,
            utterances,
            speeds: if perturb { SPEEDS.to_vec() } else { vec![1.0] },
        }
    }

    /// The speed factors in label order.
    pub fn speeds(&self) -> &[f64] {
        &self.speeds
    }

    /// Number of classes: speakers × speeds.
    pub fn num_classes(&self) -> usize {
        self.speakers * self.speeds.len()
    }

    /// Number of items: utterances × speeds.
    pub fn num_items(&self) -> usize {
        self.utterances * self.speeds.len()
    }

    /// Utterance index and speed of item `index`.
    pub fn item(&self, index: usize) -> (usize, f64) {
        (
            index % self.utterances,
            self.speeds[index / self.utterances],
        )
    }

    /// The class of item `index` whose utterance belongs to `speaker`.
    pub fn class(&self, index: usize, speaker: u32) -> u32 {
        speaker + (index / self.utterances) as u32 * self.speakers as u32
    }

    /// The speaker (speed 1) of class `class`.
    pub fn speaker_of(&self, class: u32) -> u32 {
        class % self.speakers as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_are_extra_classes() {
        let l = SpeedLabels::new(4, 10, true);
        assert_eq!((l.num_classes(), l.num_items()), (12, 30));
        assert_eq!(l.item(13), (3, 0.9));
        assert_eq!(l.class(13, 2), 6);
        assert_eq!(l.speaker_of(6), 2);
        let plain = SpeedLabels::new(4, 10, false);
        assert_eq!((plain.num_classes(), plain.class(3, 2)), (4, 2));
    }
}

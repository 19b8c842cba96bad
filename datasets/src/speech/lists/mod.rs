//! Utterance lists: which file holds which speaker's utterance, read from VoxCeleb folders,
//! wespeaker raw lists (JSON lines) or Kaldi data dirs (`wav.scp` + `utt2spk`).

mod kaldi;
mod voxceleb;
mod wespeaker_raw;

pub use kaldi::read_kaldi_dir;
pub use voxceleb::read_voxceleb_dir;
pub use wespeaker_raw::read_wespeaker_raw_list;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One utterance on disk: its key, its speaker and its audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtteranceEntry {
    /// Unique key, e.g. `id10001/1zcIwhmdeo4/00001.wav`.
    pub key: String,
    /// Speaker name as written in the list, e.g. `id10001`.
    pub speaker: String,
    /// Audio file path (relative paths in lists are resolved against the list's folder).
    pub path: PathBuf,
}

/// A list of utterances with a dense speaker label space.
///
/// Labels follow wespeaker's `spk2id`: the sorted unique speaker names, numbered from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtteranceList {
    /// The utterances, in list order.
    pub entries: Vec<UtteranceEntry>,
    /// Sorted unique speaker names; a label is an index into this.
    pub speakers: Vec<String>,
    /// Label of each entry, parallel to `entries`.
    pub labels: Vec<u32>,
}

impl UtteranceList {
    /// Builds the list and its label space from entries.
    pub fn new(entries: Vec<UtteranceEntry>) -> Self {
        let mut ids: BTreeMap<&str, u32> =
            entries.iter().map(|e| (e.speaker.as_str(), 0)).collect();
        for (index, id) in ids.values_mut().enumerate() {
            *id = index as u32;
        }
        let labels = entries.iter().map(|e| ids[e.speaker.as_str()]).collect();
        let speakers = ids.keys().map(|s| s.to_string()).collect();
        Self {
            entries,
            speakers,
            labels,
        }
    }

    /// Number of utterances.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list holds no utterance.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps only the utterances whose speaker satisfies `keep`, relabelling densely.
    pub fn filter_speakers(&self, keep: impl Fn(&str) -> bool) -> Self {
        Self::new(
            self.entries
                .iter()
                .filter(|e| keep(&e.speaker))
                .cloned()
                .collect(),
        )
    }
}

impl UtteranceList {
    /// Splits the speakers into disjoint `(train, held_out)` lists: `held` speakers drawn with
    /// `seed` ([`held_out_identities`](crate::split::held_out_identities) over the sorted
    /// speaker names) are held out; labels are dense within each list. At least two speakers
    /// must remain for training.
    pub fn split_speakers(&self, held: usize, seed: u64) -> crate::error::Result<(Self, Self)> {
        if held == 0 {
            return Ok((self.clone(), Self::new(Vec::new())));
        }
        if held + 2 > self.speakers.len() {
            return Err(crate::error::DataError::InvalidArgument(format!(
                "cannot hold out {held} of {} speakers and keep 2 for training",
                self.speakers.len()
            )));
        }
        let chosen = crate::split::held_out_identities(self.speakers.len(), held, seed);
        let names: std::collections::HashSet<&str> = chosen
            .iter()
            .map(|&i| self.speakers[i as usize].as_str())
            .collect();
        Ok((
            self.filter_speakers(|s| !names.contains(s)),
            self.filter_speakers(|s| names.contains(s)),
        ))
    }

    /// At most `k` utterances of each speaker, spread evenly over its utterances in list order
    /// ([`spread_pick`](crate::split::spread_pick)).
    pub fn cap_per_speaker(&self, k: usize) -> Self {
        let mut members = vec![Vec::new(); self.speakers.len()];
        for (i, &label) in self.labels.iter().enumerate() {
            members[label as usize].push(i);
        }
        let mut keep: Vec<usize> = members
            .iter()
            .flat_map(|m| crate::split::spread_pick(m, k))
            .collect();
        keep.sort_unstable();
        Self::new(keep.into_iter().map(|i| self.entries[i].clone()).collect())
    }
}

/// Resolves a path from a list file: absolute paths stay, relative ones join `base`.
fn resolve(base: &std::path::Path, written: &str) -> PathBuf {
    let path = PathBuf::from(written);
    if path.is_absolute() {
        path
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, speaker: &str) -> UtteranceEntry {
        UtteranceEntry {
            key: key.into(),
            speaker: speaker.into(),
            path: PathBuf::from(key),
        }
    }

    #[test]
    fn labels_are_sorted_speaker_indices() {
        let list = UtteranceList::new(vec![
            entry("a", "id2"),
            entry("b", "id1"),
            entry("c", "id2"),
        ]);
        assert_eq!(list.speakers, vec!["id1", "id2"]);
        assert_eq!(list.labels, vec![1, 0, 1]);
        let only_id2 = list.filter_speakers(|s| s == "id2");
        assert_eq!(only_id2.labels, vec![0, 0]);
    }
}

//! Records of items that could not be loaded.

use serde::{Deserialize, Serialize};

/// One item the loader skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedItem {
    /// The item's index in its source.
    pub index: usize,
    /// The item's name from [`Source::describe`](crate::loader::Source::describe).
    pub item: String,
    /// The error that made it unreadable.
    pub reason: String,
}

/// A running count of skipped items with the first few kept as examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipReport {
    /// How many items were skipped in total.
    pub count: usize,
    /// The first skipped items, at most [`SkipReport::MAX_EXAMPLES`].
    pub examples: Vec<SkippedItem>,
}

impl SkipReport {
    /// How many skipped items are kept as examples.
    pub const MAX_EXAMPLES: usize = 20;

    /// Counts one skipped item, keeping it if there is room for another example.
    pub fn record(&mut self, item: SkippedItem) {
        self.count += 1;
        if self.examples.len() < Self::MAX_EXAMPLES {
            self.examples.push(item);
        }
    }
}

//! Completion of ids while a person types them: pattern ids from the index, most recently
//! failing first; improvement ids from the lifecycle tables, newest first.

use serde::Serialize;

use crate::{App, AppError};

/// How many values one completion answers at most.
pub const COMPLETION_CAP: usize = 20;

/// Values that complete a prefix, and how many match in all.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Completion {
    pub values: Vec<String>,
    pub total: u64,
}

impl Completion {
    /// Whether more values match than are listed.
    pub fn has_more(&self) -> bool {
        self.total > self.values.len() as u64
    }
}

impl App {
    /// Pattern ids starting with `prefix` (the index is caught up first, as for any answer).
    pub fn complete_pattern_id(&self, prefix: &str) -> Result<Completion, AppError> {
        let (store, _) = self.fresh_store(&mut |_, _| {})?;
        let (values, total) =
            store.read(|reader| reader.pattern_ids_with_prefix(prefix, COMPLETION_CAP))?;
        Ok(Completion { values, total })
    }

    /// Improvement ids starting with `prefix`.
    pub fn complete_improvement_id(&self, prefix: &str) -> Result<Completion, AppError> {
        let (values, total) = self
            .lifecycle_db()?
            .ids_with_prefix(prefix, COMPLETION_CAP)?;
        Ok(Completion { values, total })
    }
}

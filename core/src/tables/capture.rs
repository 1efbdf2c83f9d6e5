//! Where chosen columns land in a row as a table writer writes it, so that a DCR
//! transformation reads its columns without searching the row or decoding JSON escapes: a
//! string that needed escaping keeps its text as the writer had it (copied once, never
//! unescaped).

use std::ops::Range;
use std::sync::Arc;

/// The columns to record (names in the transformation's slot order) and, after a row is
/// written, where each one is. Reused from row to row.
#[derive(Debug, Default)]
pub struct Capture {
    wanted: Arc<[String]>,
    found: Vec<Captured>,
    /// The text of strings the writer escaped, back to back.
    texts: Vec<u8>,
    /// The column being written: (slot, where its value starts in the row).
    open: Option<(usize, usize)>,
    /// Where the last search for a name matched: writers write in catalogue order, as the
    /// names are listed, so the next name is almost always the one after it.
    cursor: usize,
}

/// Where one recorded column's value is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Captured {
    /// Not written (absent, or empty).
    #[default]
    Absent,
    /// A JSON value in the row, as written.
    Raw(Range<usize>),
    /// A string written without escapes: the bytes between its quotes in the row.
    Text(Range<usize>),
    /// A string written with escapes: as written in the row (with its quotes), and its text
    /// in [`Capture::texts`].
    Escaped {
        raw: Range<usize>,
        text: Range<usize>,
    },
}

impl Capture {
    /// Ready to record `wanted` in the next row.
    pub fn reset(&mut self, wanted: &Arc<[String]>) {
        if !Arc::ptr_eq(&self.wanted, wanted) {
            self.wanted = Arc::clone(wanted);
        }
        self.found.clear();
        self.found.resize(wanted.len(), Captured::Absent);
        self.texts.clear();
        self.open = None;
        self.cursor = 0;
    }

    /// Each recorded column, in slot order.
    pub fn found(&self) -> &[Captured] {
        &self.found
    }

    /// The escaped strings' texts ([`Captured::Escaped`]'s `text` ranges index it).
    pub fn texts(&self) -> &[u8] {
        &self.texts
    }

    /// A key was written and its value starts at `at`: recorded when wanted.
    fn open(&mut self, name: &str, at: usize) {
        let slot = (self.cursor..self.wanted.len())
            .chain(0..self.cursor)
            .find(|i| self.wanted.get(*i).is_some_and(|w| w == name));
        if let Some(slot) = slot {
            self.open = Some((slot, at));
            self.cursor = slot + 1;
        }
    }

    /// The open column's value ends at `end` (written by a writer that left it as JSON).
    fn close(&mut self, end: usize) {
        if let Some((slot, start)) = self.open.take() {
            if let Some(found) = self.found.get_mut(slot) {
                *found = Captured::Raw(start..end.max(start));
            }
        }
    }

    /// The open column is a string written at `written` (with its quotes); `escaped`: its
    /// text when the writer escaped (or replaced) some of it, else the text is as written.
    fn string(&mut self, written: Range<usize>, escaped: Option<&[u8]>) {
        let Some((slot, _)) = self.open.take() else {
            return;
        };
        let found = match escaped {
            None => Captured::Text(written.start + 1..written.end.saturating_sub(1)),
            Some(text) => {
                let at = self.texts.len();
                self.texts.extend_from_slice(text);
                Captured::Escaped {
                    raw: written,
                    text: at..self.texts.len(),
                }
            }
        };
        if let Some(slot) = self.found.get_mut(slot) {
            *slot = found;
        }
    }

    /// Columns written at or after `len` were taken back.
    fn rewind(&mut self, len: usize) {
        if self.open.is_some_and(|(_, start)| start >= len) {
            self.open = None;
        }
        for found in &mut self.found {
            let start = match found {
                Captured::Absent => continue,
                Captured::Raw(r) | Captured::Text(r) | Captured::Escaped { raw: r, .. } => r.start,
            };
            if start >= len {
                *found = Captured::Absent;
            }
        }
    }
}

impl super::json::Record for &mut Capture {
    const ACTIVE: bool = true;

    fn open(&mut self, name: &str, at: usize) {
        Capture::open(self, name, at);
    }

    fn close(&mut self, end: usize) {
        Capture::close(self, end);
    }

    fn string(&mut self, written: Range<usize>, escaped: Option<&[u8]>) {
        Capture::string(self, written, escaped);
    }

    fn rewind(&mut self, len: usize) {
        Capture::rewind(self, len);
    }
}

//! A spool's acknowledgement cursor, sans-IO (issue 23): which batches the service accepted,
//! in the compact form stored in a target's `cursor` file, and how it moves. The spool in
//! `forwarder/src/spool/target.rs` writes and reads the file; what goes in it is decided here.
//!
//! The file holds the sequence number through which every batch was accepted, then
//! optionally a line `acked A-B C …` of batches accepted above it (while an older one is still
//! being sent or retried), so that a restart sends again only what was in flight.

use std::fmt::Write as _;

/// At most this many ranges of batches acknowledged above the cursor are stored (a batch
/// retried for a long time while thousands of later ones are accepted would otherwise make the
/// cursor file grow without bound); batches beyond them are sent again after a crash.
pub const MAX_RANGES: usize = 1024;

/// What a cursor file says (the default: nothing accepted yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Every batch up to here was accepted.
    pub through: u64,
    /// Batches accepted above `through`, as inclusive ranges in order.
    pub above: Vec<(u64, u64)>,
}

impl Cursor {
    /// Reads a cursor file. `None` if the first line is unreadable (everything on disk is then
    /// sent again); a damaged second line is ignored (the batches it named are sent again),
    /// as are ranges at or below the cursor or backwards.
    pub fn parse(text: &str) -> Option<Cursor> {
        let mut lines = text.lines();
        let through = lines
            .next()?
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&c| c < u64::MAX / 2)?;
        let above = lines
            .next()
            .and_then(|l| l.strip_prefix("acked "))
            .and_then(|l| {
                l.split_whitespace()
                    .map(|r| match r.split_once('-') {
                        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                        None => r.parse().ok().map(|n| (n, n)),
                    })
                    .collect::<Option<Vec<(u64, u64)>>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter(|(a, b)| a <= b && *a > through)
            .collect();
        Some(Cursor { through, above })
    }

    /// The cursor of a spool holding the unacknowledged batches `held` (ascending), having
    /// numbered batches below `next_seq`, its cursor before at `previous`: it moves up to
    /// just below the oldest batch held (never back), and the gaps between the batches held
    /// are the ranges accepted above it.
    pub fn of(previous: u64, held: impl IntoIterator<Item = u64>, next_seq: u64) -> Cursor {
        let mut held = held.into_iter().peekable();
        let through = held
            .peek()
            .map_or(next_seq.saturating_sub(1), |first| first.saturating_sub(1))
            .max(previous);
        let mut above = Vec::new();
        let mut next = through + 1;
        for seq in held.chain(std::iter::once(next_seq)) {
            if seq > next {
                above.push((next, seq - 1));
                if above.len() == MAX_RANGES {
                    // The rest would only be sent again: duplicates, never loss.
                    break;
                }
            }
            next = next.max(seq + 1);
        }
        Cursor { through, above }
    }

    /// Whether batch `seq` was accepted by this cursor.
    pub fn accepted(&self, seq: u64) -> bool {
        seq <= self.through || self.above.iter().any(|(a, b)| (*a..=*b).contains(&seq))
    }

    /// The file's text.
    pub fn text(&self) -> String {
        let mut text = format!("{}\n", self.through);
        if !self.above.is_empty() {
            text.push_str("acked");
            for &(first, last) in &self.above {
                let _ = if first == last {
                    write!(text, " {first}")
                } else {
                    write!(text, " {first}-{last}")
                };
            }
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_files_old_new_and_damaged() {
        let cursor = |through, above: &[(u64, u64)]| {
            Some(Cursor {
                through,
                above: above.to_vec(),
            })
        };
        assert_eq!(Cursor::parse("17\n"), cursor(17, &[]));
        assert_eq!(Cursor::parse("17"), cursor(17, &[]));
        assert_eq!(
            Cursor::parse("17\nacked 19 21-30\n"),
            cursor(17, &[(19, 19), (21, 30)])
        );
        // A damaged list only means those batches are sent again.
        assert_eq!(Cursor::parse("17\nacked 19 x-3\n"), cursor(17, &[]));
        // Ranges at or below the cursor, or backwards, are ignored.
        assert_eq!(
            Cursor::parse("17\nacked 12 30-20 40\n"),
            cursor(17, &[(40, 40)])
        );
        assert_eq!(Cursor::parse("x\n"), None);
        assert_eq!(Cursor::parse(""), None);
    }

    #[test]
    fn the_cursor_moves_over_a_gapless_prefix_and_lists_the_rest() {
        // 1 is stuck while 2..=9 are accepted; 10 is held too.
        let cursor = Cursor::of(0, [1, 10], 11);
        assert_eq!(cursor.text(), "0\nacked 2-9\n");
        assert!(!cursor.accepted(1) && cursor.accepted(5) && !cursor.accepted(10));
        // Nothing held: everything numbered is accepted.
        assert_eq!(Cursor::of(0, [], 11).text(), "10\n");
        // It never moves back (segments below it are already deleted).
        assert_eq!(Cursor::of(7, [3], 11).through, 7);
        // The file reads back as written.
        let cursor = Cursor::of(4, [6, 9, 12], 20);
        assert_eq!(Cursor::parse(&cursor.text()), Some(cursor));
    }

    #[test]
    fn the_ranges_are_bounded() {
        // Every other batch held: one range per gap, up to the bound.
        let held: Vec<u64> = (1..5_000).map(|n| n * 2).collect();
        let cursor = Cursor::of(0, held, 10_001);
        assert_eq!(cursor.through, 1);
        assert_eq!(cursor.above.len(), MAX_RANGES);
        assert_eq!(cursor.above.first(), Some(&(3, 3)));
    }

    proptest::proptest! {
        /// Whatever is held, the cursor accepts exactly the numbered batches not held (within
        /// the bound on ranges: beyond it, only fewer, never a held one), and its text reads
        /// back the same.
        #[test]
        fn the_cursor_accepts_what_is_not_held(
            held in proptest::collection::btree_set(1u64..300, 0..60),
            next in 300u64..320,
        ) {
            let cursor = Cursor::of(0, held.iter().copied(), next);
            for seq in 1..next {
                proptest::prop_assert_eq!(cursor.accepted(seq), !held.contains(&seq), "{}", seq);
            }
            proptest::prop_assert_eq!(Cursor::parse(&cursor.text()), Some(cursor));
        }
    }
}

//! The backlog strip's proportions: where the history already overwritten, the held window,
//! the free capacity and the markers (replicas' acks, a PSYNC request) sit, in percent of
//! the strip's width. The capacity part is to scale (the held window is `histlen / size` of
//! it); offsets before the window get a fixed share, drawn with a break when not to scale.

use crate::frame::BacklogView;

/// Share of the strip given to offsets before the backlog's first byte, when shown.
pub const BEFORE_PCT: f64 = 18.0;

/// Maps offsets onto the strip.
#[derive(Clone, Debug, PartialEq)]
pub struct StripScale {
    /// Lowest offset drawn (left edge).
    pub lo: i64,
    /// The backlog's first byte offset: the left of the capacity part.
    pub first: i64,
    /// One past the capacity's last offset (right edge).
    pub end: i64,
    /// Percent of the strip before the first byte (0 when nothing precedes it).
    pub before_pct: f64,
    /// Whether the part before the window is not to scale (drawn with a break).
    pub broken: bool,
}

impl StripScale {
    /// The scale for `b`, making room for `extra` offsets (a PSYNC request, acks) left of it.
    pub fn new(b: &BacklogView, extra: &[i64]) -> StripScale {
        let first = b.first_byte_offset;
        let size = (b.size as i64).max(1);
        let end = (first + size).max(b.last_offset + 1);
        let earliest = extra.iter().copied().filter(|o| *o < first).min();
        if first <= 1 && earliest.is_none() {
            return StripScale { lo: first, first, end, before_pct: 0.0, broken: false };
        }
        // To scale, BEFORE_PCT of the strip covers this many bytes.
        let span = ((end - first) as f64 * BEFORE_PCT / (100.0 - BEFORE_PCT)).round() as i64;
        let natural = first - span.max(1);
        let lo = match earliest {
            Some(e) if e < natural => e,
            _ => natural.max(0),
        };
        let broken = lo != natural;
        StripScale { lo, first, end, before_pct: BEFORE_PCT, broken }
    }

    /// Percent from the left where `offset` sits (clamped to the strip).
    pub fn pos(&self, offset: i64) -> f64 {
        let p = if offset < self.first {
            let span = (self.first - self.lo).max(1) as f64;
            (offset - self.lo) as f64 / span * self.before_pct
        } else {
            let span = (self.end - self.first).max(1) as f64;
            self.before_pct + (offset - self.first) as f64 / span * (100.0 - self.before_pct)
        };
        p.clamp(0.0, 100.0)
    }
}

/// A label on the strip: where, what, and on which of two rows (so neighbours don't collide).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Marker {
    pub pos: f64,
    pub label: String,
    pub row: usize,
}

/// Groups named positions (percent) closer than `min_gap` into one label ("r1, r2" or
/// "r1, r2, r3 +4"), alternating rows between neighbouring groups.
pub fn group_markers(named: &[(String, f64)], min_gap: f64) -> Vec<Marker> {
    let mut sorted: Vec<&(String, f64)> = named.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut groups: Vec<(f64, Vec<&str>)> = Vec::new();
    for (name, pos) in sorted {
        match groups.last_mut() {
            Some((start, names)) if *pos - *start < min_gap => names.push(name),
            _ => groups.push((*pos, vec![name])),
        }
    }
    let mut out: Vec<Marker> = groups
        .into_iter()
        .map(|(pos, mut names)| {
            names.sort_unstable();
            let label = if names.len() > 3 { format!("{} +{}", names[..3].join(", "), names.len() - 3) } else { names.join(", ") };
            Marker { pos, label, row: 0 }
        })
        .collect();
    for i in 1..out.len() {
        if out[i].pos - out[i - 1].pos < min_gap * 2.5 {
            out[i].row = 1 - out[i - 1].row;
        }
    }
    out
}

/// The offset a decision's sentence says the replica asked for ("asked for 10,240").
pub fn asked_offset(text: &str) -> Option<i64> {
    let rest = &text[text.find("asked for ")? + "asked for ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(|c| *c != ',').collect();
    digits.parse().ok()
}

/// The bytes a partial resync sent from the backlog ("partial resync, 64 bytes from the
/// backlog").
pub fn sent_bytes(text: &str) -> Option<i64> {
    let rest = &text[text.find("partial resync, ")? + "partial resync, ".len()..];
    let (n, _) = rest.split_once(" bytes")?;
    n.replace(',', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(size: usize, first: i64, histlen: i64) -> BacklogView {
        BacklogView { node: "m".into(), size, first_byte_offset: first, last_offset: first + histlen - 1, histlen, acks: vec![] }
    }

    #[test]
    fn a_young_backlog_fills_its_capacity_in_proportion() {
        let b = backlog(1000, 1, 250);
        let s = StripScale::new(&b, &[]);
        assert_eq!(s.before_pct, 0.0);
        assert_eq!(s.pos(1), 0.0);
        assert_eq!(s.pos(251), 25.0, "the window ends a quarter of the way");
        assert_eq!(s.pos(1001), 100.0);
    }

    #[test]
    fn a_full_backlog_slides_with_overwritten_history_to_scale_on_its_left() {
        let b = backlog(16_384, 16_384, 16_384);
        let s = StripScale::new(&b, &[]);
        assert!(!s.broken);
        assert_eq!(s.pos(16_384), BEFORE_PCT);
        assert_eq!(s.pos(16_384 + 16_384), 100.0);
        // The before part is to scale: 18/82 of the capacity.
        let before = (16_384 - s.lo) as f64 / 16_384.0;
        assert!((before - BEFORE_PCT / (100.0 - BEFORE_PCT)).abs() < 1e-3);
    }

    #[test]
    fn a_request_far_before_the_window_compresses_the_left_part() {
        let b = backlog(16_384, 1_000_000, 16_384);
        let s = StripScale::new(&b, &[10_240]);
        assert!(s.broken);
        assert_eq!(s.lo, 10_240);
        assert_eq!(s.pos(10_240), 0.0);
        assert!(s.pos(500_000) < BEFORE_PCT);
        // Inside the window stays to scale.
        assert!((s.pos(1_000_000 + 8_192) - (BEFORE_PCT + (100.0 - BEFORE_PCT) / 2.0)).abs() < 1e-9);
        // Beyond either end is clamped.
        assert_eq!(s.pos(-5), 0.0);
        assert_eq!(s.pos(i64::MAX / 2), 100.0);
    }

    #[test]
    fn a_late_backlog_near_offset_zero_is_not_to_scale_but_never_negative() {
        let b = backlog(1 << 20, 100, 10);
        let s = StripScale::new(&b, &[]);
        assert_eq!(s.lo, 0);
        assert!(s.broken);
        assert_eq!(s.pos(0), 0.0);
    }

    #[test]
    fn empty_and_degenerate_backlogs_do_not_divide_by_zero() {
        let b = backlog(0, 1, 0);
        let s = StripScale::new(&b, &[]);
        assert!(s.pos(1).is_finite() && s.pos(5).is_finite());
    }

    #[test]
    fn close_markers_share_a_label_and_neighbours_alternate_rows() {
        let named: Vec<(String, f64)> = [("r2", 90.0), ("r1", 90.5), ("r3", 50.0), ("r4", 55.0)].iter().map(|(n, p)| (n.to_string(), *p)).collect();
        let m = group_markers(&named, 3.0);
        assert_eq!(m.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(), ["r3", "r4", "r1, r2"]);
        assert_eq!(m.iter().map(|m| m.row).collect::<Vec<_>>(), [0, 1, 0]);
        let many: Vec<(String, f64)> = (0..7).map(|i| (format!("r{i}"), 99.0)).collect();
        assert_eq!(group_markers(&many, 3.0)[0].label, "r0, r1, r2 +4");
        assert!(group_markers(&[], 3.0).is_empty());
    }

    #[test]
    fn the_bytes_sent_are_read_from_the_sentence() {
        assert_eq!(sent_bytes("r1 asked for 881, the backlog holds 1–1,000: partial resync, 1,120 bytes from the backlog"), Some(1_120));
        assert_eq!(sent_bytes("r1 asked for 10,240, the backlog holds 16,384–32,767: full resync"), None);
    }

    #[test]
    fn the_requested_offset_is_read_from_the_sentence() {
        assert_eq!(asked_offset("r1 asked for 10,240, the backlog holds 16,384–32,767: full resync"), Some(10_240));
        assert_eq!(asked_offset("r2 asked for 5,001: its replid …"), Some(5_001));
        assert_eq!(asked_offset("r1 has no history to continue (PSYNC ? -1): full resync"), None);
        assert_eq!(asked_offset("a replica asked to continue history cccccccc"), None);
    }
}

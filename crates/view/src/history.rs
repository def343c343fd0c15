//! The offsets chart's data: every node's offset sampled over virtual time, and the faults
//! to mark on it. Kept for the whole computed history so scrubbing back redraws it at once.

/// A fault or intervention marked on the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub at: u64,
    pub label: String,
}

/// One sample: the time, and each node's offset (None while down).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: u64,
    pub offsets: Vec<(String, Option<i64>)>,
}

/// Samples beyond this are thinned (every other one dropped) so memory stays bounded.
const MAX_SAMPLES: usize = 8_000;

#[derive(Clone, Debug, Default)]
pub struct History {
    samples: Vec<Sample>,
    faults: Vec<Fault>,
}

impl History {
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    pub fn last_time(&self) -> Option<u64> {
        self.samples.last().map(|s| s.at)
    }

    pub fn push(&mut self, at: u64, offsets: Vec<(String, Option<i64>)>) {
        self.samples.push(Sample { at, offsets });
        if self.samples.len() > MAX_SAMPLES {
            // Keep the first and the latest; halve what lies between.
            let last = self.samples.len() - 1;
            let mut i = 0;
            self.samples.retain(|_| {
                let keep = i % 2 == 0 || i == last;
                i += 1;
                keep
            });
        }
    }

    pub fn push_fault(&mut self, f: Fault) {
        self.faults.push(f);
    }

    /// Forgets everything after `t` (an intervention discarded that future).
    pub fn truncate_after(&mut self, t: u64) {
        self.samples.retain(|s| s.at <= t);
        self.faults.retain(|f| f.at <= t);
    }

    /// Forgets everything before `t` (the run forgot its beginning).
    pub fn forget_before(&mut self, t: u64) {
        self.samples.retain(|s| s.at >= t);
        self.faults.retain(|f| f.at >= t);
    }

    /// Samples up to `t` (the chart of a moment in the past shows only its past).
    pub fn until(&self, t: u64) -> &[Sample] {
        let end = self.samples.partition_point(|s| s.at <= t);
        &self.samples[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: i64) -> Vec<(String, Option<i64>)> {
        vec![("m".into(), Some(v))]
    }

    #[test]
    fn truncating_forgets_the_discarded_future() {
        let mut h = History::default();
        for t in 0..10 {
            h.push(t * 100, s(t as i64));
        }
        h.push_fault(Fault { at: 850, label: "crash m".into() });
        assert_eq!(h.until(450).len(), 5);
        h.truncate_after(500);
        assert_eq!(h.last_time(), Some(500));
        assert!(h.faults().is_empty());
    }

    #[test]
    fn memory_stays_bounded_and_keeps_the_ends() {
        let mut h = History::default();
        for t in 0..(MAX_SAMPLES as u64 * 3) {
            h.push(t, s(t as i64));
        }
        assert!(h.samples().len() <= MAX_SAMPLES);
        assert_eq!(h.samples()[0].at, 0);
        assert_eq!(h.last_time(), Some(MAX_SAMPLES as u64 * 3 - 1));
        assert!(h.samples().windows(2).all(|w| w[0].at < w[1].at));
    }
}

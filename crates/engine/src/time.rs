//! Time as a plain number: the engine never reads a clock, the caller passes `now` in.

/// Milliseconds since the Unix epoch (a real clock for the TCP node, a virtual one in the sim).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn saturating_add(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    pub fn saturating_sub(self, other: Millis) -> u64 {
        self.0.saturating_sub(other.0)
    }

    /// Whole seconds since the epoch, as Redis's `server.unixtime`.
    pub fn unix_seconds(self) -> u64 {
        self.0 / 1000
    }
}

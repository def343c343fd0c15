//! Links between nodes: how long bytes take, and whether they get through at all.

use serde::Serialize;

/// One direction of the path between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LinkConfig {
    /// One-way delay in milliseconds.
    pub latency_ms: u64,
    /// Bytes per millisecond (10_000 ≈ 10 MB/s): a large RDB visibly takes time.
    pub bytes_per_ms: u64,
    /// Partitioned: nothing gets through; bytes wait (TCP retransmits) until healed.
    pub cut: bool,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig { latency_ms: 1, bytes_per_ms: 10_000, cut: false }
    }
}

impl LinkConfig {
    /// Microseconds to put `len` bytes on the wire (small writes cost fractions of a ms).
    pub fn transmit_us(&self, len: usize) -> u64 {
        if self.bytes_per_ms == u64::MAX {
            return 0;
        }
        ((len as u128 * 1000) / self.bytes_per_ms.max(1) as u128).min(u64::MAX as u128) as u64
    }
}

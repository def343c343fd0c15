//! Small time formatters for the side panel.

/// An uptime as people read it: `42s`, `3m 07s`, `2h 05m`, `3d 04h`.
pub fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// redis-server's log clock: `HH:MM:SS.mmm`.
pub fn clock(hours: u32, minutes: u32, seconds: u32, millis: u32) -> String {
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(uptime(0), "0s");
        assert_eq!(uptime(59_999), "59s");
        assert_eq!(uptime(60_000), "1m 00s");
        assert_eq!(uptime(187_000), "3m 07s");
        assert_eq!(uptime(3_600_000 + 5 * 60_000), "1h 05m");
        assert_eq!(uptime(2 * 86_400_000 + 3_600_000), "2d 01h");
        assert_eq!(clock(9, 5, 3, 7), "09:05:03.007");
    }
}

//! Numbers and IDs as the visualizer prints them.

/// 10240 → "10,240" (offsets read better grouped).
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "16,384–32,767".
pub fn offset_range(first: i64, last: i64) -> String {
    format!("{}–{}", thousands(first), thousands(last))
}

/// The first 8 characters of a replication ID (enough to tell histories apart on screen).
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// 1536 → "1.5 KB", 3_000_000 → "2.9 MB": sizes on links and backlogs.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// Virtual time as "12.345 s" (ms precision: every event lands on a millisecond).
pub fn seconds(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// Appends `v` with one decimal, as `{:.1}` prints it (but a tie, a value exactly halfway
/// between two tenths, rounds away from zero, and a negative value that rounds to zero prints
/// as "0.0"). The chart writes thousands of coordinates at a time; this is several times
/// faster than the formatting machinery.
pub fn push_tenths(out: &mut String, v: f64) {
    let t = (v * 10.0).round();
    if !(t.abs() < 1e15) {
        out.push_str(&format!("{v:.1}"));
        return;
    }
    let t = t as i64;
    if t < 0 {
        out.push('-');
    }
    let t = t.unsigned_abs();
    let mut buf = [0u8; 20];
    out.extend(replscope_engine::resp::decimal(t / 10, &mut buf).iter().map(|&d| d as char));
    out.push('.');
    out.push((b'0' + (t % 10) as u8) as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_240), "10,240");
        assert_eq!(thousands(-1), "-1");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn formats_sizes_ids_and_times() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(1 << 20), "1.0 MB");
        assert_eq!(bytes(50 << 20), "50 MB");
        assert_eq!(short_id("8c1f2a9e0d"), "8c1f2a9e");
        assert_eq!(short_id("ab"), "ab");
        assert_eq!(seconds(12_345), "12.345 s");
        assert_eq!(seconds(5), "0.005 s");
        assert_eq!(offset_range(16_384, 32_767), "16,384–32,767");
    }

    #[test]
    fn tenths_print_as_the_formatter_does() {
        let tenths = |v: f64| {
            let mut s = String::new();
            push_tenths(&mut s, v);
            s
        };
        assert_eq!(tenths(0.0), "0.0");
        assert_eq!(tenths(12.34), "12.3");
        assert_eq!(tenths(99.96), "100.0");
        assert_eq!(tenths(-3.26), "-3.3");
        assert_eq!(tenths(1e20), "100000000000000000000.0");
        // Everywhere but at exact ties, the same text as {:.1}.
        for i in 0..200_000u32 {
            let v = f64::from(i) * 0.003_7 + f64::from(i % 7) * 1e-7;
            let frac = (v * 10.0).fract();
            if (frac - 0.5).abs() > 1e-6 {
                assert_eq!(tenths(v), format!("{v:.1}"), "{v}");
            }
            assert!((tenths(v).parse::<f64>().unwrap() - v).abs() <= 0.05 + 1e-9, "{v}");
        }
    }
}

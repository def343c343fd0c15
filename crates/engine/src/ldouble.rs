//! INCRBYFLOAT arithmetic. Interim f64 version: a helper is replacing it with an exact
//! emulation of x87 80-bit `long double` (what redis-server uses on x86-64).

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble(f64);

impl LongDouble {
    pub fn zero() -> LongDouble {
        LongDouble(0.0)
    }

    /// Redis's `string2ld`: no leading space, the whole string consumed, not NaN.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() > 5 * 1024 || s[0].is_ascii_whitespace() {
            return None;
        }
        let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
        if v.is_nan() {
            return None;
        }
        Some(LongDouble(v))
    }

    pub fn add(self, other: LongDouble) -> LongDouble {
        LongDouble(self.0 + other.0)
    }

    pub fn is_finite(self) -> bool {
        self.0.is_finite()
    }

    /// `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` with trailing zeros (and a bare '.') removed.
    pub fn to_human(self) -> String {
        let mut s = format!("{:.17}", self.0);
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

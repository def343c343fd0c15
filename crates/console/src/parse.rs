//! Turning a typed line into arguments, as redis-cli's REPL does.

use replscope_engine::split_args;

/// What redis-cli prints for a line with unbalanced quotes.
pub const INVALID_ARGUMENTS: &str = "Invalid argument(s)";
/// What redis-cli prints for `0 PING`, `-1 PING` or an overflowing count.
pub const INVALID_REPEAT: &str = "Invalid redis-cli repeat command option value.";

/// Splits a typed line with `sdssplitargs` rules (the engine's [`split_args`]).
/// Unbalanced quotes give redis-cli's `Invalid argument(s)`.
pub fn parse_line(line: &str) -> Result<Vec<Vec<u8>>, String> {
    split_args(line.as_bytes()).ok_or_else(|| INVALID_ARGUMENTS.to_string())
}

/// A typed line after redis-cli's repeat prefix (`5 INCR counter`) is taken off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    pub repeat: u64,
    pub args: Vec<Vec<u8>>,
}

/// redis-cli's repeat check: with more than one argument, a first argument that `strtol`
/// reads completely is a repeat count, which must be positive and fit in a `long`.
/// An empty `args` stays empty (a blank line does nothing).
pub fn take_repeat(mut args: Vec<Vec<u8>>) -> Result<Typed, String> {
    if args.len() < 2 {
        return Ok(Typed { repeat: 1, args });
    }
    match strtol(&args[0]) {
        Strtol::Whole(n) if n > 0 => {
            args.remove(0);
            Ok(Typed { repeat: n as u64, args })
        }
        Strtol::Whole(_) | Strtol::Overflow => Err(INVALID_REPEAT.to_string()),
        Strtol::Partial => Ok(Typed { repeat: 1, args }),
    }
}

enum Strtol {
    /// The whole C string was a number (or empty, which strtol reads as 0).
    Whole(i64),
    /// The whole C string was digits, but outside `long` (ERANGE).
    Overflow,
    /// Something was left over, so it is not a repeat count.
    Partial,
}

/// `strtol(s, &end, 10)` followed by `*end == '\0'`, on the C string (up to a NUL byte).
fn strtol(arg: &[u8]) -> Strtol {
    let s = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    if s.is_empty() {
        return Strtol::Whole(0);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut value: i128 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        value = value * 10 + (s[i] - b'0') as i128;
        if value > i64::MAX as i128 + 1 {
            overflow = true;
            value = i64::MAX as i128 + 1;
        }
        i += 1;
    }
    // No digits: strtol sets end to the start of the string, which is not its end.
    if i == digits_start || i != s.len() {
        return Strtol::Partial;
    }
    let value = if negative { -value } else { value };
    if overflow || value > i64::MAX as i128 || value < i64::MIN as i128 {
        return Strtol::Overflow;
    }
    Strtol::Whole(value as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Vec<u8>> {
        parse_line(line).unwrap()
    }

    fn strs(v: &[Vec<u8>]) -> Vec<String> {
        v.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect()
    }

    #[test]
    fn parses_like_sdssplitargs() {
        assert_eq!(strs(&args("SET greeting hello")), ["SET", "greeting", "hello"]);
        assert_eq!(strs(&args(r#"set "a b" 'c d' "x\ty""#)), ["set", "a b", "c d", "x\ty"]);
        assert_eq!(args(r#"set k "\x00\xff""#)[2], vec![0u8, 0xff]);
        assert_eq!(strs(&args("<img src=x onerror=alert(1)>")), ["<img", "src=x", "onerror=alert(1)>"]);
        assert!(args("   ").is_empty());
        assert!(args("").is_empty());
    }

    #[test]
    fn unbalanced_quotes_are_invalid_arguments() {
        assert_eq!(parse_line(r#"SET "abc"#), Err("Invalid argument(s)".to_string()));
        assert_eq!(parse_line("GET 'x"), Err("Invalid argument(s)".to_string()));
        assert_eq!(parse_line(r#"GET "a"b"#), Err("Invalid argument(s)".to_string()));
    }

    #[test]
    fn repeat_prefix() {
        let t = take_repeat(args("3 INCR c")).unwrap();
        assert_eq!((t.repeat, strs(&t.args)), (3, vec!["INCR".to_string(), "c".to_string()]));
        assert_eq!(take_repeat(args("+2 PING")).unwrap().repeat, 2);
        // A lone number is a command, not a repeat count.
        let t = take_repeat(args("42")).unwrap();
        assert_eq!((t.repeat, strs(&t.args)), (1, vec!["42".to_string()]));
        // Not wholly numeric: a command name.
        assert_eq!(take_repeat(args("3x PING")).unwrap().repeat, 1);
        assert_eq!(take_repeat(args("0x10 PING")).unwrap().repeat, 1);
        assert_eq!(take_repeat(args("' ' PING")).unwrap().repeat, 1);
        // strtol skips leading blanks.
        assert_eq!(take_repeat(args("' 4' PING")).unwrap().repeat, 4);
        for bad in ["0 PING", "-1 PING", "99999999999999999999 PING", "'' PING"] {
            assert_eq!(take_repeat(args(bad)), Err(INVALID_REPEAT.to_string()), "{bad}");
        }
        assert!(take_repeat(vec![]).unwrap().args.is_empty());
    }
}

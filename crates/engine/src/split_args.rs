//! `sdssplitargs`: how redis-server splits an inline command and redis-cli splits a typed line.

/// Splits a line into arguments with Redis's quoting rules: `"..."` with `\n \r \t \b \a \xHH`
/// escapes, `'...'` with only `\'`, and a closing quote that must end the argument.
/// `None` means unbalanced quotes (redis-cli: "Invalid argument(s)").
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // C strings end at NUL; redis-server hands sdssplitargs a C string.
    let line = match line.iter().position(|&b| b == 0) {
        Some(n) => &line[..n],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(i);
            if in_double {
                if c == b'\\' && at(i + 1) == b'x' && is_hex(at(i + 2)) && is_hex(at(i + 3)) {
                    current.push(hex(at(i + 2)) * 16 + hex(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_space(at(i + 1)) {
                        return None;
                    }
                    i += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            i += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            i += 1;
        }
        args.push(current);
    }
}

/// The RESP encoding of `split_args(line)` (empty for a blank line, `None` for unbalanced
/// quotes). A line with no quotes, NUL, \v or \f (what a load generator sends) is
/// encoded straight from its words, with no argument vector in between.
pub fn encode_line(line: &[u8]) -> Option<Vec<u8>> {
    // (\v and \f are skipped before a word but kept inside one: the slow path knows.)
    if line.iter().any(|&b| matches!(b, b'"' | b'\'' | 0 | 0x0b | 0x0c)) {
        let args = split_args(line)?;
        return Some(if args.is_empty() { Vec::new() } else { crate::resp::encode_command(&args) });
    }
    let words = || line.split(|&b| is_space(b)).filter(|w| !w.is_empty());
    let count = words().count();
    if count == 0 {
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(line.len() + 8 * count + 8);
    crate::resp::encode_words_into(&mut out, count, words());
    Some(out)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_line_equals_split_then_encode() {
        for line in ["SET k v", "  set\tkey:1  value\x0b ", "", "   ", "SET \"a b\" 'c'", "SET a\\b c", "GET \"x\\x41\""] {
            let want = split_args(line.as_bytes()).map(|a| if a.is_empty() { Vec::new() } else { crate::resp::encode_command(&a) });
            assert_eq!(encode_line(line.as_bytes()), want, "{line:?}");
        }
        assert_eq!(encode_line(b"SET \"open"), None);
        // Random lines over the characters that matter.
        let alphabet = b"ab1 \t\n\r\x0b\x0c\"'\\x\0";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5_000 {
            let mut line = Vec::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 12) {
                line.push(alphabet[((x >> (k * 5)) % alphabet.len() as u64) as usize]);
            }
            let want = split_args(&line).map(|a| if a.is_empty() { Vec::new() } else { crate::resp::encode_command(&a) });
            assert_eq!(encode_line(&line), want, "{:?}", String::from_utf8_lossy(&line));
        }
    }

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn plain_words_and_blanks() {
        assert_eq!(split("  set  a   b "), Some(vec!["set".into(), "a".into(), "b".into()]));
        assert_eq!(split(""), Some(vec![]));
        assert_eq!(split("   \t"), Some(vec![]));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(split(r#"set "a b" 'c d'"#), Some(vec!["set".into(), "a b".into(), "c d".into()]));
        assert_eq!(split(r#""\x41\n\t\"q""#), Some(vec!["A\n\t\"q".into()]));
        assert_eq!(split(r"'it\'s'"), Some(vec!["it's".into()]));
        assert_eq!(split(r#""""#), Some(vec!["".into()]));
        assert_eq!(split(r#"a"b c""#), Some(vec!["ab c".into()]));
        assert_eq!(split(r#""\xZZ""#), Some(vec!["xZZ".into()]));
    }

    #[test]
    fn unbalanced_or_glued_quotes_fail() {
        assert_eq!(split(r#""abc"#), None);
        assert_eq!(split("'abc"), None);
        assert_eq!(split(r#""a"b"#), None);
        assert_eq!(split("'a'b"), None);
    }
}

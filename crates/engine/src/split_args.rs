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

//! Redis's `stringmatchlen`: the glob dialect of KEYS, SCAN MATCH and CONFIG GET.

/// Whether `s` matches `pattern` (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes).
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    matches_at(pattern, s, nocase, 0, &mut skip_longer)
}

/// Nesting of `*` recursion is bounded so a hostile pattern cannot exhaust the stack
/// (Redis 7.0 bounds it the same way, with a limit of 1000).
const MAX_NESTING: usize = 1000;

/// `skip_longer` is Redis's `skipLongerMatches`: once the rest of a pattern after a `*` failed
/// from every position, earlier `*`s cannot help, which keeps matching polynomial.
fn matches_at(mut p: &[u8], mut s: &[u8], nocase: bool, nesting: usize, skip_longer: &mut bool) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..s.len() {
                    if matches_at(&p[1..], &s[i..], nocase, nesting + 1, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        // Unterminated class: Redis steps back so the loop ends cleanly.
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if fold(p[0]) == fold(s[0]) {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (fold(p[0]), fold(p[2]));
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let c = fold(s[0]);
                        if c >= lo && c <= hi {
                            matched = true;
                        }
                        p = &p[2..];
                    } else if fold(p[0]) == fold(s[0]) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0]) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if fold(c) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_dialect() {
        assert!(m("*", "anything"));
        assert!(!m("*", ""), "stringmatchlen never matches an empty string");
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m(r"h\*llo", "h*llo"));
        assert!(!m(r"h\*llo", "hello"));
        assert!(m("key:*:x", "key:12:x"));
        assert!(!m("abc", "abcd"));
        assert!(m("a*", "a"));
        assert!(glob_match(b"MAXMEM*", b"maxmemory", true));
    }

    #[test]
    fn hostile_patterns_terminate() {
        let p = "a*".repeat(50) + "b";
        assert!(!m(&p, &"a".repeat(60)));
        assert!(m(&p, &("a".repeat(60) + "b")));
        assert!(!m("[", "a"));
        assert!(m("[a", "a"));
    }
}

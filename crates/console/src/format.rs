//! Reply formatting exactly as redis-cli 7.0 prints it on a terminal.
//!
//! * [`format_reply`] is `cliFormatReplyTTY`: the default interactive output.
//! * [`format_reply_raw`] is `cliFormatReplyRaw`, which redis-cli uses even on a terminal for
//!   INFO, CLIENT LIST and a few other commands whose replies are meant to be read as text.

use replscope_engine::Frame;

/// `cliFormatReplyTTY(reply, "")`: the text redis-cli writes for one reply. Every line,
/// including the last, ends with `\n`.
pub fn format_reply(frame: &Frame) -> String {
    let mut out = String::new();
    format_tty(frame, "", &mut out);
    out
}

fn format_tty(frame: &Frame, prefix: &str, out: &mut String) {
    match frame {
        Frame::Error(s) => {
            out.push_str("(error) ");
            out.push_str(s);
            out.push('\n');
        }
        Frame::Simple(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Frame::Integer(n) => {
            out.push_str("(integer) ");
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Frame::Bulk(bytes) => {
            repr_into(bytes, out);
            out.push('\n');
        }
        // hiredis turns both `$-1` and `*-1` into REDIS_REPLY_NIL.
        Frame::Null | Frame::NullArray => out.push_str("(nil)\n"),
        Frame::Array(items) if items.is_empty() => out.push_str("(empty array)\n"),
        Frame::Array(items) => {
            // Characters needed for the largest index (`do { idxlen++; i /= 10; } while (i)`).
            let idxlen = items.len().to_string().len();
            // Nested replies are indented by the index width plus ") ".
            let child_prefix = format!("{prefix}{}", " ".repeat(idxlen + 2));
            for (i, item) in items.iter().enumerate() {
                // The first element follows whatever the caller already printed on this line
                // (the parent's index), so only the later ones repeat the prefix.
                if i > 0 {
                    out.push_str(prefix);
                }
                out.push_str(&format!("{:>width$}) ", i + 1, width = idxlen));
                format_tty(item, &child_prefix, out);
            }
        }
    }
}

/// `sdscatrepr`: a double-quoted string with C-style escapes. `isprint` in the C locale
/// accepts only 0x20..=0x7e, so every other byte (including UTF-8) becomes `\xNN`.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    repr_into(bytes, &mut out);
    out
}

fn repr_into(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
}

/// `cliFormatReplyRaw`: payloads as they are, no quoting, no type tags, no final newline
/// (except after an error), array elements separated by `\n`, nil as nothing.
pub fn format_reply_raw(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    format_raw(frame, &mut out);
    out
}

fn format_raw(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::Null | Frame::NullArray => {}
        Frame::Error(s) => {
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
        Frame::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Frame::Bulk(b) => out.extend_from_slice(b),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                format_raw(item, out);
            }
        }
    }
}

/// `cliFormatReplyCSV`: how redis-cli prints the master's stream in replica output mode
/// (`SYNC`): one line per command, arguments quoted and comma-separated. No newline.
pub fn format_reply_csv(frame: &Frame) -> String {
    let mut out = String::new();
    format_csv(frame, &mut out);
    out
}

fn format_csv(frame: &Frame, out: &mut String) {
    match frame {
        Frame::Error(s) => {
            out.push_str("ERROR,");
            repr_into(s.as_bytes(), out);
        }
        Frame::Simple(s) => repr_into(s.as_bytes(), out),
        Frame::Integer(n) => out.push_str(&n.to_string()),
        Frame::Bulk(b) => repr_into(b, out),
        Frame::Null | Frame::NullArray => out.push_str("NULL"),
        Frame::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                format_csv(item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::bulk(s)
    }

    #[test]
    fn scalars() {
        assert_eq!(format_reply(&Frame::ok()), "OK\n");
        assert_eq!(format_reply(&Frame::Simple("QUEUED".into())), "QUEUED\n");
        assert_eq!(
            format_reply(&Frame::err("ERR unknown command 'FOO', with args beginning with: ")),
            "(error) ERR unknown command 'FOO', with args beginning with: \n"
        );
        assert_eq!(format_reply(&Frame::Integer(1)), "(integer) 1\n");
        assert_eq!(format_reply(&Frame::Integer(-42)), "(integer) -42\n");
        assert_eq!(format_reply(&Frame::Integer(i64::MIN)), "(integer) -9223372036854775808\n");
        assert_eq!(format_reply(&Frame::Null), "(nil)\n");
        assert_eq!(format_reply(&Frame::NullArray), "(nil)\n");
        assert_eq!(format_reply(&bulk("hello")), "\"hello\"\n");
        assert_eq!(format_reply(&bulk("")), "\"\"\n");
        assert_eq!(format_reply(&Frame::Array(vec![])), "(empty array)\n");
    }

    #[test]
    fn escaping_matches_sdscatrepr() {
        assert_eq!(repr(b"a\nb\rc\td"), r#""a\nb\rc\td""#);
        assert_eq!(repr(b"\x07\x08"), r#""\a\b""#);
        assert_eq!(repr(b"back\\slash \"quoted\""), r#""back\\slash \"quoted\"""#);
        assert_eq!(repr(b"\x00\x01\x1f\x7f"), r#""\x00\x01\x1f\x7f""#);
        // UTF-8 is not printable in the C locale: é is two escaped bytes, lowercase hex.
        assert_eq!(repr("é".as_bytes()), r#""\xc3\xa9""#);
        assert_eq!(repr(b"\xff"), r#""\xff""#);
        assert_eq!(repr(b" ~"), r#"" ~""#);
        assert_eq!(repr(b"<img src=x>"), r#""<img src=x>""#);
        // Vertical tab and form feed have no short escape in sdscatrepr.
        assert_eq!(repr(b"\x0b\x0c"), r#""\x0b\x0c""#);
    }

    #[test]
    fn flat_array() {
        let f = Frame::Array(vec![bulk("a"), Frame::Integer(2), Frame::Null, Frame::err("ERR x")]);
        assert_eq!(format_reply(&f), "1) \"a\"\n2) (integer) 2\n3) (nil)\n4) (error) ERR x\n");
    }

    #[test]
    fn ten_or_more_elements_pad_the_index() {
        let f = Frame::Array((1..=10).map(|i| bulk(&format!("v{i}"))).collect());
        let expected = " 1) \"v1\"\n 2) \"v2\"\n 3) \"v3\"\n 4) \"v4\"\n 5) \"v5\"\n 6) \"v6\"\n 7) \"v7\"\n 8) \"v8\"\n 9) \"v9\"\n10) \"v10\"\n";
        assert_eq!(format_reply(&f), expected);
        let f = Frame::Array((1..=100).map(Frame::Integer).collect());
        let text = format_reply(&f);
        assert!(text.starts_with("  1) (integer) 1\n"), "{text}");
        assert!(text.contains("\n 10) (integer) 10\n"));
        assert!(text.ends_with("\n100) (integer) 100\n"));
    }

    #[test]
    fn nested_arrays_indent_continuation_lines() {
        let f = Frame::Array(vec![
            Frame::Array(vec![bulk("a"), bulk("b")]),
            bulk("c"),
            Frame::Array(vec![]),
            Frame::Array(vec![Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)]), Frame::Null]),
        ]);
        let expected = "\
1) 1) \"a\"
   2) \"b\"
2) \"c\"
3) (empty array)
4) 1) 1) (integer) 1
      2) (integer) 2
   2) (nil)
";
        assert_eq!(format_reply(&f), expected);
    }

    #[test]
    fn nested_padding_uses_each_level_width() {
        // An outer array of 10 whose 10th element is an array of 12: the inner prefix is
        // the outer width (2) + 2, and the inner indexes are padded to 2 as well.
        let inner = Frame::Array((1..=12).map(Frame::Integer).collect());
        let mut items: Vec<Frame> = (1..=9).map(|i| bulk(&i.to_string())).collect();
        items.push(inner);
        let text = format_reply(&Frame::Array(items));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], " 1) \"1\"");
        assert_eq!(lines[8], " 9) \"9\"");
        assert_eq!(lines[9], "10)  1) (integer) 1");
        assert_eq!(lines[10], "     2) (integer) 2");
        assert_eq!(lines[18], "    10) (integer) 10");
        assert_eq!(lines[20], "    12) (integer) 12");
        assert_eq!(lines.len(), 21);
        // A short inner array under a wide outer one.
        let mut items: Vec<Frame> = (1..=10).map(Frame::Integer).collect();
        items[0] = Frame::Array(vec![bulk("x"), bulk("y")]);
        let text = format_reply(&Frame::Array(items));
        assert!(text.starts_with(" 1) 1) \"x\"\n    2) \"y\"\n 2) (integer) 2\n"), "{text}");
    }

    #[test]
    fn csv_output() {
        let cmd = Frame::bulks(["SET", "k", "v x"]);
        assert_eq!(format_reply_csv(&cmd), r#""SET","k","v x""#);
        assert_eq!(format_reply_csv(&Frame::bulks(["ping"])), r#""ping""#);
        let odd = Frame::Array(vec![bulk("SET"), bulk("a\n"), Frame::bulk(vec![0xffu8])]);
        assert_eq!(format_reply_csv(&odd), r#""SET","a\n","\xff""#);
        assert_eq!(format_reply_csv(&Frame::Integer(3)), "3");
        assert_eq!(format_reply_csv(&Frame::Null), "NULL");
        assert_eq!(format_reply_csv(&Frame::err("ERR x")), r#"ERROR,"ERR x""#);
        assert_eq!(format_reply_csv(&Frame::ok()), r#""OK""#);
        assert_eq!(format_reply_csv(&Frame::Array(vec![])), "");
    }

    #[test]
    fn raw_output() {
        assert_eq!(format_reply_raw(&bulk("a\r\nb\r\n")), b"a\r\nb\r\n");
        assert_eq!(format_reply_raw(&Frame::Null), b"");
        assert_eq!(format_reply_raw(&Frame::err("ERR x")), b"ERR x\n");
        assert_eq!(format_reply_raw(&Frame::Integer(5)), b"5");
        assert_eq!(format_reply_raw(&Frame::Array(vec![bulk("a"), Frame::Integer(1)])), b"a\n1");
    }
}

//! Replays a transcript captured from a real redis-server 7.0.15 through the engine and
//! requires byte-identical replies (the live differential test lives in `tests/`; this one
//! keeps the engine honest with plain `cargo test -p replscope-engine`).

use replscope_engine::{split_args, Config, Input, Millis, Node, Output};

const TRANSCRIPT: &str = include_str!("fixtures/redis_7_0_replies.txt");

/// Undoes Python's `repr` escaping of the captured bytes.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'\'' => out.push(b'\''),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn engine_replies_match_redis_byte_for_byte() {
    let now = Millis(1_700_000_000_000);
    let config = Config::from_args(&["--enable-debug-command", "yes"]).unwrap();
    let mut node = Node::new(config, 1, now);
    let conn = node.accept(now, "127.0.0.1:40000", "127.0.0.1:6379");
    while node.poll_output().is_some() {}
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for line in TRANSCRIPT.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (cmd, expected) = line.split_once(" => ").expect("fixture line has ' => '");
        let args = split_args(cmd.as_bytes()).expect("fixture command parses");
        let bytes = replscope_engine::resp::encode_command(&args);
        node.handle_input(now, Input::Received { conn, bytes: &bytes });
        let mut got = Vec::new();
        while let Some(out) = node.poll_output() {
            if let Output::Send { bytes, .. } = out {
                got.extend(bytes);
            }
        }
        checked += 1;
        let expected = unescape(expected);
        if got != expected {
            mismatches.push(format!(
                "{cmd}\n    redis: {:?}\n    ours:  {:?}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(checked > 200, "transcript too short: {checked}");
    assert!(mismatches.is_empty(), "{} of {checked} replies differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

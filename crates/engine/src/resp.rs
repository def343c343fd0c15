//! RESP2 on the wire: reply frames (encode and decode) and the server-side request parser.
//!
//! The request parser follows redis-server's `processMultibulkBuffer` / `processInlineBuffer`
//! (networking.c, 7.0) closely, so the same bytes give the same commands and the same
//! `Protocol error` texts. Partial input is normal: the parser waits for more bytes.

use std::borrow::Cow;

use crate::split_args::split_args;

/// Longest inline command or count line redis-server accepts (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis pre-sizes argv to at most this many slots, whatever the count line claims.
const ARGV_PREALLOC_MAX: usize = 1024;

/// One RESP2 value, as a reply travels (and as a replica reads a master's stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Borrowed for the fixed replies (+OK, +QUEUED, +PONG...): no allocation per reply.
    Simple(Cow<'static, str>),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    /// `$-1`: the nil bulk string.
    Null,
    /// `*-1`: the nil array (EXEC after a failed WATCH, timed-out blocking pops).
    NullArray,
    Array(Vec<Frame>),
}

impl Frame {
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    pub fn err(msg: impl Into<String>) -> Frame {
        Frame::Error(msg.into())
    }

    pub fn bulk(bytes: impl Into<Vec<u8>>) -> Frame {
        Frame::Bulk(bytes.into())
    }

    pub fn bulks<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// Appends the RESP2 encoding of this frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(s) => line(out, b'+', s.as_bytes()),
            Frame::Error(s) => line(out, b'-', s.as_bytes()),
            Frame::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Frame::Bulk(b) => {
                line(out, b'$', b.len().to_string().as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                for item in items {
                    item.encode_into(out);
                }
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes one frame from the front of `buf`: `Ok(None)` when more bytes are needed,
    /// `Ok(Some((frame, used)))` when a whole frame is there, `Err` for bytes that are not RESP.
    pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
        decode_at(buf, 0, 0)
    }
}

/// Encodes a command (or a propagated write) as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command_into(&mut out, args);
    out
}

/// `encode_command`, appended to `out` (the stream and the backlog are written this way, with
/// no buffer per command: every replicated write comes through here).
pub fn encode_command_into<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    encode_words_into(out, args.len(), args.iter().map(|a| a.as_ref()));
}

/// `encode_command_into` for `count` arguments given by an iterator.
pub fn encode_words_into<'a>(out: &mut Vec<u8>, count: usize, args: impl Iterator<Item = &'a [u8]>) {
    count_line(out, b'*', count);
    for a in args {
        count_line(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `*<n>\r\n` or `$<n>\r\n`, the digits written without a String.
fn count_line(out: &mut Vec<u8>, tag: u8, n: usize) {
    let mut buf = [0u8; 20];
    out.push(tag);
    out.extend_from_slice(decimal(n as u64, &mut buf));
    out.extend_from_slice(b"\r\n");
}

/// The decimal digits of `n`, written into `buf` (hot paths that print numbers use this
/// instead of the formatting machinery).
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn line(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

/// Nesting deeper than this is refused rather than recursed into (hostile input).
const MAX_DEPTH: usize = 64;

fn decode_at(buf: &[u8], start: usize, depth: usize) -> Result<Option<(Frame, usize)>, String> {
    if depth > MAX_DEPTH {
        return Err("Protocol error: nesting too deep".into());
    }
    let Some(&tag) = buf.get(start) else { return Ok(None) };
    let Some(end) = find_crlf(buf, start + 1) else { return Ok(None) };
    let body = &buf[start + 1..end];
    let next = end + 2;
    let text = || String::from_utf8_lossy(body).into_owned();
    match tag {
        b'+' => {
            // The common status replies decode without allocating.
            let simple = match body {
                b"OK" => Cow::Borrowed("OK"),
                b"QUEUED" => Cow::Borrowed("QUEUED"),
                b"PONG" => Cow::Borrowed("PONG"),
                _ => Cow::Owned(text()),
            };
            Ok(Some((Frame::Simple(simple), next)))
        }
        b'-' => Ok(Some((Frame::Error(text()), next))),
        b':' => {
            let n = parse_i64(body).ok_or("Protocol error: invalid integer")?;
            Ok(Some((Frame::Integer(n), next)))
        }
        b'$' => {
            let n = parse_i64(body).ok_or("Protocol error: invalid bulk length")?;
            if n == -1 {
                return Ok(Some((Frame::Null, next)));
            }
            let n = usize::try_from(n).map_err(|_| "Protocol error: invalid bulk length")?;
            let Some(stop) = next.checked_add(n).and_then(|s| s.checked_add(2)) else {
                return Err("Protocol error: invalid bulk length".into());
            };
            if buf.len() < stop {
                return Ok(None);
            }
            if &buf[stop - 2..stop] != b"\r\n" {
                return Err("Protocol error: bulk not terminated by CRLF".into());
            }
            Ok(Some((Frame::Bulk(buf[next..stop - 2].to_vec()), stop)))
        }
        b'*' => {
            let n = parse_i64(body).ok_or("Protocol error: invalid multibulk length")?;
            if n == -1 {
                return Ok(Some((Frame::NullArray, next)));
            }
            let n = usize::try_from(n).map_err(|_| "Protocol error: invalid multibulk length")?;
            let mut items = Vec::with_capacity(n.min(ARGV_PREALLOC_MAX));
            let mut pos = next;
            for _ in 0..n {
                match decode_at(buf, pos, depth + 1)? {
                    Some((f, p)) => {
                        items.push(f);
                        pos = p;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Frame::Array(items), pos)))
        }
        other => Err(format!("Protocol error: unexpected type byte '{}'", other as char)),
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| p + from)
}

fn parse_i64(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Why the request parser stopped: a `Protocol error` is answered with `-ERR <text>` and the
/// connection is closed after the reply, exactly as redis-server does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

/// Limits that keep hostile input from exhausting memory.
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// Whether the client still has to AUTH (Redis then caps counts at 10 and bulks at 16 KB).
    pub auth_required: bool,
}

/// Server-side incremental parser of client requests (multibulk or inline).
#[derive(Clone, Debug, Default)]
pub struct RequestParser {
    buf: Vec<u8>,
    pos: usize,
    /// Arguments still to read of the current multibulk (0: none in progress).
    multibulk_left: i64,
    /// Length of the bulk being read, -1 before its `$` line.
    bulk_len: i64,
    args: Vec<Vec<u8>>,
    /// A finished command's argument vector, handed back to be refilled: parsing then
    /// allocates nothing for commands no bigger than the last one.
    spare: Vec<Vec<u8>>,
    /// Arguments of the current multibulk read so far (`args` may hold spare slots past it).
    filled: usize,
}

impl RequestParser {
    pub fn new() -> RequestParser {
        RequestParser { bulk_len: -1, ..Default::default() }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet consumed as whole commands (the `qbuf` of CLIENT LIST).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Drops everything buffered (after a protocol error the rest of the input is ignored).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.multibulk_left = 0;
        self.bulk_len = -1;
        self.args.clear();
        self.filled = 0;
    }

    /// The next whole command, `Ok(None)` if more input is needed. An empty command
    /// (an empty inline line, `*0`) is skipped as redis-server skips it.
    pub fn next_command(
        &mut self,
        limits: RequestLimits,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        loop {
            if self.pos >= self.buf.len() {
                return Ok(None);
            }
            let parsed = if self.multibulk_left > 0 || self.buf[self.pos] == b'*' {
                self.multibulk(limits)?
            } else {
                self.inline()?
            };
            match parsed {
                Step::Need => return Ok(None),
                Step::Empty => continue,
                Step::Command(args) => return Ok(Some(args)),
            }
        }
    }

    fn inline(&mut self) -> Result<Step, ProtocolError> {
        let rest = &self.buf[self.pos..];
        // strchr semantics: a NUL byte ends the search.
        let newline = rest.iter().position(|&b| b == b'\n' || b == 0).filter(|&i| rest[i] == b'\n');
        let Some(nl) = newline else {
            if rest.len() > INLINE_MAX_SIZE {
                return Err(protocol("too big inline request"));
            }
            return Ok(Step::Need);
        };
        let mut query_end = nl;
        if nl > 0 && rest[nl - 1] == b'\r' {
            query_end -= 1;
        }
        let args = split_args(&rest[..query_end]).ok_or_else(|| protocol("unbalanced quotes in request"))?;
        self.pos += nl + 1;
        if args.is_empty() {
            return Ok(Step::Empty);
        }
        Ok(Step::Command(args))
    }

    fn multibulk(&mut self, limits: RequestLimits) -> Result<Step, ProtocolError> {
        if self.multibulk_left == 0 {
            let Some(cr) = self.find_cr(self.pos) else {
                if self.buf.len() - self.pos > INLINE_MAX_SIZE {
                    return Err(protocol("too big mbulk count string"));
                }
                return Ok(Step::Need);
            };
            if cr + 2 > self.buf.len() {
                return Ok(Step::Need);
            }
            let count = string2ll(&self.buf[self.pos + 1..cr]);
            let count = match count {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(protocol("invalid multibulk length")),
            };
            if count > 10 && limits.auth_required {
                return Err(protocol("unauthenticated multibulk length"));
            }
            self.pos = cr + 2;
            if count <= 0 {
                return Ok(Step::Empty);
            }
            self.multibulk_left = count;
            self.args = std::mem::take(&mut self.spare);
            self.args.reserve((count as usize).min(ARGV_PREALLOC_MAX));
            self.filled = 0;
        }
        while self.multibulk_left > 0 {
            if self.bulk_len == -1 {
                let Some(cr) = self.find_cr(self.pos) else {
                    if self.buf.len() - self.pos > INLINE_MAX_SIZE {
                        return Err(protocol("too big bulk count string"));
                    }
                    return Ok(Step::Need);
                };
                if cr + 2 > self.buf.len() {
                    return Ok(Step::Need);
                }
                let first = self.buf[self.pos];
                if first != b'$' {
                    return Err(ProtocolError(format!(
                        "Protocol error: expected '$', got '{}'",
                        first as char
                    )));
                }
                let len = match string2ll(&self.buf[self.pos + 1..cr]) {
                    Some(n) if n >= 0 && n <= limits.max_bulk_len => n,
                    _ => return Err(protocol("invalid bulk length")),
                };
                if len > 16384 && limits.auth_required {
                    return Err(protocol("unauthenticated bulk length"));
                }
                self.pos = cr + 2;
                self.bulk_len = len;
            }
            let len = self.bulk_len as usize;
            if self.buf.len() - self.pos < len + 2 {
                return Ok(Step::Need);
            }
            // Like redis-server, the two bytes after the payload are skipped, not checked.
            let arg = &self.buf[self.pos..self.pos + len];
            match self.args.get_mut(self.filled) {
                Some(slot) => {
                    slot.clear();
                    slot.extend_from_slice(arg);
                }
                None => self.args.push(arg.to_vec()),
            }
            self.filled += 1;
            self.pos += len + 2;
            self.bulk_len = -1;
            self.multibulk_left -= 1;
        }
        self.args.truncate(self.filled);
        Ok(Step::Command(std::mem::take(&mut self.args)))
    }

    /// Takes back a command's arguments once it ran, to parse the next one into.
    pub fn recycle(&mut self, args: Vec<Vec<u8>>) {
        if args.capacity() > 0 && self.spare.capacity() == 0 {
            self.spare = args;
        }
    }

    /// `strchr(p, '\r')`: the first CR at or after `from`, unless a NUL byte comes first.
    fn find_cr(&self, from: usize) -> Option<usize> {
        let rest = &self.buf[from..];
        let i = rest.iter().position(|&b| b == b'\r' || b == 0)?;
        (rest[i] == b'\r').then_some(from + i)
    }
}

enum Step {
    Need,
    Empty,
    Command(Vec<Vec<u8>>),
}

fn protocol(what: &str) -> ProtocolError {
    ProtocolError(format!("Protocol error: {what}"))
}

/// Redis's `string2ll`: a strict decimal integer (no sign '+', no spaces, no leading zeros,
/// no "-0"), the only form Redis accepts for counts, lengths and integer arguments.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: RequestLimits = RequestLimits { max_bulk_len: 512 * 1024 * 1024, auth_required: false };

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        p.feed(input);
        let mut out = Vec::new();
        loop {
            match p.next_command(OPEN) {
                Ok(Some(c)) => out.push(c),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn strs(cmd: &[Vec<u8>]) -> Vec<&str> {
        cmd.iter().map(|a| std::str::from_utf8(a).unwrap()).collect()
    }

    #[test]
    fn frames_encode_byte_exact() {
        assert_eq!(Frame::ok().encode(), b"+OK\r\n");
        assert_eq!(Frame::err("ERR x").encode(), b"-ERR x\r\n");
        assert_eq!(Frame::Integer(-3).encode(), b":-3\r\n");
        assert_eq!(Frame::bulk("hi").encode(), b"$2\r\nhi\r\n");
        assert_eq!(Frame::Null.encode(), b"$-1\r\n");
        assert_eq!(Frame::NullArray.encode(), b"*-1\r\n");
        assert_eq!(
            Frame::Array(vec![Frame::Integer(1), Frame::bulk("")]).encode(),
            b"*2\r\n:1\r\n$0\r\n\r\n"
        );
        assert_eq!(encode_command(&["SET", "a", "1"]), b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n");
    }

    #[test]
    fn decode_roundtrips_and_waits_for_more() {
        let f = Frame::Array(vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR no".into()),
            Frame::Integer(42),
            Frame::bulk("a\r\nb"),
            Frame::Null,
            Frame::NullArray,
            Frame::Array(vec![]),
        ]);
        let bytes = f.encode();
        assert_eq!(Frame::decode(&bytes).unwrap(), Some((f.clone(), bytes.len())));
        for cut in 0..bytes.len() {
            assert_eq!(Frame::decode(&bytes[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(Frame::decode(b"?x\r\n").is_err());
        assert!(Frame::decode(b"$3\r\nabcXY").is_err());
    }

    #[test]
    fn decode_refuses_deep_nesting() {
        let bytes = "*1\r\n".repeat(100).into_bytes();
        assert!(Frame::decode(&bytes).is_err());
    }

    #[test]
    fn multibulk_and_pipelining() {
        let (cmds, err) = parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
        assert!(err.is_none());
        assert_eq!(cmds.len(), 2);
        assert_eq!(strs(&cmds[1]), ["GET", "k"]);
    }

    #[test]
    fn every_split_gives_the_same_commands() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\nECHO \"a b\"\r\n*0\r\n\r\n";
        let (whole, _) = parse_all(input);
        assert_eq!(whole.len(), 3);
        for cut in 0..input.len() {
            let mut p = RequestParser::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                p.feed(part);
                while let Some(c) = p.next_command(OPEN).unwrap() {
                    got.push(c);
                }
            }
            assert_eq!(got, whole, "split at {cut}");
        }
    }

    #[test]
    fn inline_commands_use_redis_quoting() {
        let (cmds, err) = parse_all(b"SET k \"a\\x41\\n\"\nget 'it\\'s'\r\n");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(cmds[0], vec![b"SET".to_vec(), b"k".to_vec(), b"aA\n".to_vec()]);
        assert_eq!(cmds[1], vec![b"get".to_vec(), b"it's".to_vec()]);
        // A closing quote must be followed by a space: 'it''s' is unbalanced in sdssplitargs.
        let (_, err) = parse_all(b"get 'it''s'\r\n");
        assert!(err.is_some());
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        let cases: [(&[u8], &str); 6] = [
            (b"*x\r\n", "Protocol error: invalid multibulk length"),
            (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
            (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"),
            (b"SET \"a\r\n", "Protocol error: unbalanced quotes in request"),
            (b"*3000000000\r\n", "Protocol error: invalid multibulk length"),
        ];
        for (input, text) in cases {
            let (_, err) = parse_all(input);
            assert_eq!(err, Some(ProtocolError(text.into())), "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn oversized_lines_are_refused_without_buffering_forever() {
        let mut p = RequestParser::new();
        p.feed(&vec![b'a'; INLINE_MAX_SIZE + 1]);
        assert_eq!(p.next_command(OPEN), Err(ProtocolError("Protocol error: too big inline request".into())));
        let mut p = RequestParser::new();
        p.feed(b"*");
        p.feed(&vec![b'1'; INLINE_MAX_SIZE + 1]);
        assert_eq!(p.next_command(OPEN), Err(ProtocolError("Protocol error: too big mbulk count string".into())));
    }

    #[test]
    fn huge_claimed_counts_do_not_allocate() {
        let mut p = RequestParser::new();
        p.feed(b"*2000000000\r\n$1\r\na\r\n");
        assert_eq!(p.next_command(OPEN), Ok(None));
        assert!(p.args.capacity() <= ARGV_PREALLOC_MAX);
        let limited = RequestLimits { max_bulk_len: 10, auth_required: false };
        let mut p = RequestParser::new();
        p.feed(b"*1\r\n$11\r\n");
        assert!(p.next_command(limited).is_err());
    }

    #[test]
    fn unauthenticated_clients_get_smaller_limits() {
        let limits = RequestLimits { auth_required: true, ..OPEN };
        let mut p = RequestParser::new();
        p.feed(b"*11\r\n");
        assert_eq!(
            p.next_command(limits),
            Err(ProtocolError("Protocol error: unauthenticated multibulk length".into()))
        );
        let mut p = RequestParser::new();
        p.feed(b"*1\r\n$16385\r\n");
        assert_eq!(
            p.next_command(limits),
            Err(ProtocolError("Protocol error: unauthenticated bulk length".into()))
        );
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"-0", b"+1", b"01", b" 1", b"1 ", b"9223372036854775808", b"1.0", b"-"] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}

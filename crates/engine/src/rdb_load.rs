//! RDB loading: reads the snapshots redis-server 7.0.15 writes (and the older encodings it still
//! reads), as `rdbLoadRio` / `rdbLoadObject` do, into the engine's keyspace.
//!
//! Supported: format versions 1..=10; strings (raw, 8/16/32-bit integer and LZF-compressed);
//! lists (plain, ziplist, quicklist of ziplists, quicklist 2 of listpacks and plain nodes); sets
//! (plain, intset); hashes (plain, zipmap, ziplist, listpack); the AUX, RESIZEDB, SELECTDB,
//! EXPIRETIME(_MS), IDLE, FREQ and EOF opcodes; function libraries (FUNCTION2 and the 7.0-rc
//! FUNCTION format) are read and dropped, as the engine has no functions. Sorted sets, streams,
//! module values and module AUX data are refused with an error.
//!
//! Every embedded blob (ziplist, listpack, intset, zipmap) gets the deep validation redis-server
//! runs with `sanitize-dump-payload yes`, so a hostile or truncated file gives an [`RdbError`]:
//! the loader never panics, never trusts a length before checking it against the bytes that
//! are actually there, and every loop consumes input.
//!
//! Like a replica (and unlike a master), the loader keeps keys whose expire time has passed;
//! the caller decides what to do with them.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use indexmap::IndexMap;

use crate::small_bytes::SmallBytes;
use crate::keyspace::{Db, SetValue, Value};
use crate::rdb::crc64;

/// The newest format version this loader (like redis-server 7.0) understands.
const RDB_VERSION: i64 = 10;

const OPCODE_FUNCTION2: u8 = 0xF5;
const OPCODE_FUNCTION_PRE_GA: u8 = 0xF6;
const OPCODE_MODULE_AUX: u8 = 0xF7;
const OPCODE_IDLE: u8 = 0xF8;
const OPCODE_FREQ: u8 = 0xF9;
const OPCODE_AUX: u8 = 0xFA;
const OPCODE_RESIZEDB: u8 = 0xFB;
const OPCODE_EXPIRETIME_MS: u8 = 0xFC;
const OPCODE_EXPIRETIME: u8 = 0xFD;
const OPCODE_SELECTDB: u8 = 0xFE;
const OPCODE_EOF: u8 = 0xFF;

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE_PRE_GA: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// `rdbLoadLen` special encodings (the two top bits are 11).
const ENC_INT8: u64 = 0;
const ENC_INT16: u64 = 1;
const ENC_INT32: u64 = 2;
const ENC_LZF: u64 = 3;

/// Quicklist 2 node containers.
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// `RDB_MODULE_OPCODE_UINT`: the only valid `when_opcode` of a MODULE_AUX record.
const MODULE_OPCODE_UINT: u64 = 2;

/// Preallocation never exceeds this many elements, whatever a length field claims.
const MAX_PREALLOC: usize = 4096;

/// What redis-server logs for any truncated or unreadable input (`eoferr` in `rdbLoadRio`).
pub const SHORT_READ: &str = "Short read or OOM loading DB. Unrecoverable error, aborting now.";

/// A loaded snapshot: `databases` keyspaces and the AUX fields (last value wins).
pub struct Loaded {
    pub dbs: Vec<crate::keyspace::Db>,
    pub aux: std::collections::BTreeMap<String, Vec<u8>>,
}

/// Why a snapshot could not be loaded, worded as redis-server 7.0.15 logs it where it has a
/// message of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError(pub String);

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RdbError {}

type Result<T> = std::result::Result<T, RdbError>;

fn short_read() -> RdbError {
    RdbError(SHORT_READ.to_string())
}

fn corrupt(msg: &str) -> RdbError {
    RdbError(msg.to_string())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A capacity to reserve for `n` claimed elements when `remaining` bytes are left.
fn prealloc(n: u64, remaining: usize) -> usize {
    n.min(remaining as u64).min(MAX_PREALLOC as u64) as usize
}

/// Loads a complete RDB file into `databases` databases (`databases` bounds SELECTDB as
/// redis-server's `databases` setting does).
pub fn load(bytes: &[u8], databases: usize) -> std::result::Result<Loaded, RdbError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let head = r.take(9)?;
    if &head[..5] != b"REDIS" {
        return Err(corrupt("Wrong signature trying to load DB from file"));
    }
    let version = atoi(&head[5..9]);
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(RdbError(format!("Can't handle RDB format version {version}")));
    }
    let too_many_dbs = || {
        RdbError(format!(
            "FATAL: Data file was created with a Redis server configured to handle more than {databases} databases. Exiting"
        ))
    };

    let mut dbs: Vec<Db> = (0..databases).map(|_| Db::default()).collect();
    let mut aux = BTreeMap::new();
    let mut db_id = 0usize;
    // Set by an EXPIRETIME(_MS) opcode, applies to the next key (and is reset after it).
    let mut expire: Option<i64> = None;
    loop {
        let opcode = r.byte()?;
        match opcode {
            OPCODE_EXPIRETIME => {
                // `rdbLoadTime`: a signed 32-bit count of seconds.
                let secs = i32::from_le_bytes(r.array()?);
                expire = Some(secs as i64 * 1000);
            }
            OPCODE_EXPIRETIME_MS => expire = Some(i64::from_le_bytes(r.array()?)),
            OPCODE_FREQ => {
                r.byte()?;
            }
            OPCODE_IDLE => {
                r.length()?;
            }
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                let id = r.length()?;
                if id >= databases as u64 {
                    return Err(too_many_dbs());
                }
                db_id = id as usize;
            }
            OPCODE_RESIZEDB => {
                r.length()?;
                r.length()?;
            }
            OPCODE_AUX => {
                let key = r.string()?;
                let value = r.string()?;
                aux.insert(lossy(&key), value);
            }
            OPCODE_MODULE_AUX => {
                let module_id = r.length()?;
                let when_opcode = r.length()?;
                r.length()?; // when
                if when_opcode != MODULE_OPCODE_UINT {
                    // "bad when_opcode", then the generic read error.
                    return Err(short_read());
                }
                return Err(RdbError(format!(
                    "The RDB file contains AUX module data I can't load: no matching module '{}'",
                    module_type_name(module_id)
                )));
            }
            OPCODE_FUNCTION_PRE_GA => {
                // 7.0-rc format: name, engine, [description], code. Dropped.
                r.string()?;
                r.string()?;
                if r.length()? != 0 {
                    r.string()?;
                }
                r.string()?;
            }
            OPCODE_FUNCTION2 => {
                // One library's code ("#!lua name=..."). The engine has no functions: dropped.
                r.string()?;
            }
            value_type => {
                let key = r.string()?;
                if let Some(value) = load_object(value_type, &mut r, &key)? {
                    let db = dbs.get_mut(db_id).ok_or_else(too_many_dbs)?;
                    if db.contains(&key) {
                        return Err(RdbError(format!("RDB has duplicated key '{}' in DB {db_id}", lossy(&key))));
                    }
                    db.set(&key, value, false);
                    if let Some(at) = expire {
                        // A negative time is long past; 0 keeps it "already expired".
                        db.set_expire(&key, at.max(0) as u64);
                    }
                }
                // An empty collection is skipped silently, as redis-server does (#8453).
                expire = None;
            }
        }
    }
    if version >= 5 {
        let expected = crc64(0, &bytes[..r.pos]);
        let got = u64::from_le_bytes(r.array()?);
        // 0: saved with `rdbchecksum no`, nothing to check.
        if got != 0 && got != expected {
            return Err(RdbError(format!(
                "Wrong RDB checksum expected: ({expected:x}) but got ({got:x}). Aborting now."
            )));
        }
    }
    Ok(Loaded { dbs, aux })
}

/// The DEBUG DIGEST a redis-server holding this dataset would reply (`computeDatasetDigest`,
/// as `crate::digest::dataset` computes it for a live server).
pub fn digest_of(loaded: &Loaded) -> String {
    let mut fin = [0u8; 20];
    for (id, db) in loaded.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(id as u32).to_be_bytes());
        for (key, e) in db.iter() {
            xor_digest(&mut fin, &crate::digest::entry(key, e));
        }
    }
    crate::digest::hex(&fin)
}

fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, x) in digest.iter_mut().zip(h) {
        *d ^= x;
    }
}

fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// C `atoi` over the 4 version characters.
fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v * 10 + (s[i] - b'0') as i64;
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// `moduleTypeNameByID`: the 9-character type name packed in a module id.
fn module_type_name(mut id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = [0u8; 9];
    id >>= 10;
    for j in (0..9).rev() {
        name[j] = CSET[(id & 63) as usize];
        id >>= 6;
    }
    lossy(&name)
}

fn unsupported(value_type: u8, what: &str, key: &[u8]) -> RdbError {
    RdbError(format!(
        "Unsupported RDB value type {value_type} ({what}) for key '{}': the ReplScope engine has no {what}s yet",
        lossy(key)
    ))
}

/// `rdbLoadObject`: one value. `None` is an empty collection, which the caller skips.
fn load_object(value_type: u8, r: &mut Reader<'_>, key: &[u8]) -> Result<Option<Value>> {
    match value_type {
        TYPE_STRING => Ok(Some(Value::Str(r.string()?.into()))),
        TYPE_LIST => {
            let len = r.length()?;
            if len == 0 {
                return Ok(None);
            }
            let mut list = VecDeque::with_capacity(prealloc(len, r.remaining()));
            for _ in 0..len {
                list.push_back(r.string()?.into());
            }
            Ok(Some(Value::List(Box::new(list))))
        }
        TYPE_SET => {
            let len = r.length()?;
            if len == 0 {
                return Ok(None);
            }
            let mut set = SetValue::new();
            for _ in 0..len {
                if !set.insert(r.string()?) {
                    return Err(corrupt("Duplicate set members detected"));
                }
            }
            Ok(Some(Value::Set(Box::new(set))))
        }
        TYPE_HASH => {
            let len = r.length()?;
            if len == 0 {
                return Ok(None);
            }
            let mut hash = IndexMap::with_capacity(prealloc(len, r.remaining() / 2));
            for _ in 0..len {
                let field = r.string()?;
                let value = r.string()?;
                if hash.insert(field.into(), value.into()).is_some() {
                    return Err(corrupt("Duplicate hash fields detected"));
                }
            }
            Ok(Some(Value::Hash(Box::new(hash))))
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.length()?;
            if nodes == 0 {
                return Ok(None);
            }
            let mut list = VecDeque::new();
            for _ in 0..nodes {
                let mut container = CONTAINER_PACKED;
                if value_type == TYPE_LIST_QUICKLIST_2 {
                    container = r.length()?;
                    if container != CONTAINER_PACKED && container != CONTAINER_PLAIN {
                        return Err(corrupt("Quicklist integrity check failed."));
                    }
                }
                let data = r.string()?;
                if data.is_empty() {
                    return Err(short_read());
                }
                if container == CONTAINER_PLAIN {
                    list.push_back(data.into());
                    continue;
                }
                let entries = if value_type == TYPE_LIST_QUICKLIST_2 {
                    listpack(&data).ok_or_else(|| corrupt("Listpack integrity check failed."))?
                } else {
                    ziplist(&data).ok_or_else(|| corrupt("Ziplist integrity check failed."))?
                };
                // Empty nodes are skipped silently.
                list.extend(entries.into_iter().map(SmallBytes::from));
            }
            Ok((!list.is_empty()).then_some(Value::List(Box::new(list))))
        }
        TYPE_HASH_ZIPMAP | TYPE_LIST_ZIPLIST | TYPE_SET_INTSET | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            match value_type {
                TYPE_HASH_ZIPMAP => {
                    let pairs = zipmap(&blob).ok_or_else(|| corrupt("Zipmap integrity check failed."))?;
                    let mut hash = IndexMap::with_capacity(pairs.len());
                    for (field, value) in pairs {
                        let flen = field.len();
                        if hash.insert(field.into(), value.into()).is_some() {
                            return Err(RdbError(format!("Hash zipmap with dup elements, or big length ({flen})")));
                        }
                    }
                    Ok(Some(Value::Hash(Box::new(hash))))
                }
                TYPE_LIST_ZIPLIST => {
                    let entries = ziplist(&blob).ok_or_else(|| corrupt("List ziplist integrity check failed."))?;
                    Ok((!entries.is_empty()).then(|| Value::List(Box::new(entries.into_iter().map(SmallBytes::from).collect()))))
                }
                TYPE_SET_INTSET => {
                    let members = intset(&blob).ok_or_else(|| corrupt("Intset integrity check failed."))?;
                    let mut set = SetValue::new();
                    for m in members {
                        set.insert(m.to_string().into_bytes());
                    }
                    Ok(Some(Value::Set(Box::new(set))))
                }
                TYPE_HASH_ZIPLIST => {
                    let msg = "Hash ziplist integrity check failed.";
                    let entries = ziplist(&blob).ok_or_else(|| corrupt(msg))?;
                    pairs_to_hash(entries).ok_or_else(|| corrupt(msg))
                }
                _ => {
                    let msg = "Hash listpack integrity check failed.";
                    let entries = listpack(&blob).ok_or_else(|| corrupt(msg))?;
                    pairs_to_hash(entries).ok_or_else(|| corrupt(msg))
                }
            }
        }
        TYPE_ZSET | TYPE_ZSET_2 | TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => Err(unsupported(value_type, "sorted set", key)),
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => Err(unsupported(value_type, "stream", key)),
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => {
            let module_id = r.length()?;
            Err(RdbError(format!(
                "The RDB file contains module data I can't load: no matching module type '{}'",
                module_type_name(module_id)
            )))
        }
        other => Err(RdbError(format!("Unknown RDB encoding type {other}"))),
    }
}

/// Field/value pairs from a ziplist or listpack: an even count and no duplicate field.
/// `Some(None)` for an empty hash.
fn pairs_to_hash(entries: Vec<Vec<u8>>) -> Option<Option<Value>> {
    if !entries.len().is_multiple_of(2) {
        return None;
    }
    if entries.is_empty() {
        return Some(None);
    }
    let mut hash = IndexMap::with_capacity(entries.len() / 2);
    let mut it = entries.into_iter();
    while let (Some(field), Some(value)) = (it.next(), it.next()) {
        if hash.insert(field.into(), value.into()).is_some() {
            return None;
        }
    }
    Some(Some(Value::Hash(Box::new(hash))))
}

/// A cursor over the file; every read checks the bytes are there first.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| short_read())?;
        if n > self.remaining() {
            return Err(short_read());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    /// `rdbLoadLenByRef`: a 6/14/32/64-bit length, or (true, n) for a special encoding n.
    fn len_enc(&mut self) -> Result<(u64, bool)> {
        let b = self.byte()?;
        let (len, encoded) = match b >> 6 {
            0 => ((b & 0x3F) as u64, false),
            1 => ((((b & 0x3F) as u64) << 8) | self.byte()? as u64, false),
            3 => ((b & 0x3F) as u64, true),
            _ => match b {
                0x80 => (u32::from_be_bytes(self.array()?) as u64, false),
                0x81 => (u64::from_be_bytes(self.array()?), false),
                _ => return Err(RdbError(format!("Unknown length encoding {} in rdbLoadLen()", b >> 6))),
            },
        };
        // RDB_LENERR is UINT64_MAX: a stored UINT64_MAX reads as an error.
        if len == u64::MAX {
            return Err(short_read());
        }
        Ok((len, encoded))
    }

    /// `rdbLoadLen(rdb, NULL)`: a special-encoding byte reads as its 6-bit value.
    fn length(&mut self) -> Result<u64> {
        Ok(self.len_enc()?.0)
    }

    /// `rdbGenericLoadStringObject`: raw, integer-encoded or LZF-compressed.
    fn string(&mut self) -> Result<Vec<u8>> {
        let (len, encoded) = self.len_enc()?;
        if !encoded {
            return Ok(self.take(len)?.to_vec());
        }
        match len {
            ENC_INT8 => Ok((self.byte()? as i8).to_string().into_bytes()),
            ENC_INT16 => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            ENC_INT32 => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            ENC_LZF => {
                let clen = self.length()?;
                let len = self.length()?;
                let compressed = self.take(clen)?;
                lzf_decompress(compressed, len).ok_or_else(|| corrupt("Invalid LZF compressed string"))
            }
            other => Err(RdbError(format!("Unknown RDB string encoding type {other}"))),
        }
    }
}

/// liblzf's `lzf_decompress`, requiring exactly `len` (> 0) output bytes as redis-server does.
fn lzf_decompress(input: &[u8], len: u64) -> Option<Vec<u8>> {
    if len == 0 {
        return None;
    }
    // A 3-byte back reference yields at most 264 bytes: 88 per input byte bounds the output.
    if len > (input.len() as u64).saturating_mul(88) {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            // Literal run of ctrl + 1 bytes.
            let run = ctrl + 1;
            if out.len() + run > len || ip + run > input.len() {
                return None;
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            // Back reference: length (ctrl >> 5) + 2, offset from 13 bits.
            let mut n = ctrl >> 5;
            if ip >= input.len() {
                return None;
            }
            if n == 7 {
                n += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return None;
                }
            }
            let back = ((ctrl & 0x1F) << 8) + input[ip] as usize + 1;
            ip += 1;
            let n = n + 2;
            if out.len() + n > len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            // Byte by byte: the source may overlap what is being written.
            for i in 0..n {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == len).then_some(out)
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Little-endian two's-complement integer of `n` (1..=8) bytes, sign-extended.
fn int_le(b: &[u8], n: usize) -> i64 {
    let mut v: u64 = 0;
    for (i, &x) in b[..n].iter().enumerate() {
        v |= (x as u64) << (8 * i);
    }
    let shift = 64 - 8 * n as u32;
    ((v << shift) as i64) >> shift
}

/// Entries of a ziplist, integers as decimal strings, after `ziplistValidateIntegrity` with
/// `deep` (header, every entry in bounds, prevlen chain, tail offset and count).
fn ziplist(zl: &[u8]) -> Option<Vec<Vec<u8>>> {
    const HEADER: usize = 10;
    let size = zl.len();
    if size < HEADER + 1 || u32_le(zl, 0) as usize != size || zl[size - 1] != 0xFF {
        return None;
    }
    let last = size - 1; // the end marker: no entry may reach past it
    let tail = u32_le(zl, 4) as usize;
    if tail > last {
        return None;
    }
    let header_count = u16_le(zl, 8);
    let mut out = Vec::with_capacity((header_count as usize).min(size));
    let mut p = HEADER;
    let mut prev_raw = 0usize;
    let mut prev_start = None;
    while zl[p] != 0xFF {
        let (prevlen, prevlen_size) = if zl[p] < 254 {
            (zl[p] as usize, 1)
        } else {
            if p + 5 > last {
                return None;
            }
            (u32_le(zl, p + 1) as usize, 5)
        };
        let e = p + prevlen_size;
        if e > last {
            return None;
        }
        let enc = zl[e];
        // (length-header size, data length, is a string)
        let (len_size, data_len, is_str) = match enc >> 6 {
            0 => (1, (enc & 0x3F) as usize, true),
            1 => {
                if e + 2 > last {
                    return None;
                }
                (2, (((enc & 0x3F) as usize) << 8) | zl[e + 1] as usize, true)
            }
            2 => {
                if e + 5 > last {
                    return None;
                }
                (5, u32::from_be_bytes([zl[e + 1], zl[e + 2], zl[e + 3], zl[e + 4]]) as usize, true)
            }
            _ => match enc {
                0xC0 => (1, 2, false),
                0xD0 => (1, 4, false),
                0xE0 => (1, 8, false),
                0xF0 => (1, 3, false),
                0xFE => (1, 1, false),
                0xF1..=0xFD => (1, 0, false),
                _ => return None,
            },
        };
        let header_size = prevlen_size + len_size;
        let data = p.checked_add(header_size)?;
        let next = data.checked_add(data_len)?;
        if data > last || next > last || prevlen != prev_raw {
            return None;
        }
        let payload = &zl[data..next];
        out.push(if is_str {
            payload.to_vec()
        } else if data_len == 0 {
            ((enc & 0x0F) as i64 - 1).to_string().into_bytes()
        } else {
            int_le(payload, data_len).to_string().into_bytes()
        });
        prev_raw = header_size + data_len;
        prev_start = Some(p);
        p = next;
    }
    if p != last || prev_start.is_some_and(|s| s != tail) {
        return None;
    }
    if header_count != u16::MAX && out.len() != header_count as usize {
        return None;
    }
    Some(out)
}

/// `lpEncodeBacklen`: the bytes that close an entry whose encoding + data take `l` bytes
/// (in the first `.1` bytes of `.0`).
fn lp_backlen(l: usize) -> ([u8; 5], usize) {
    let l = l as u64;
    let n = match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    let mut out = [0u8; 5];
    // Most significant 7-bit group first; every byte but the first has the high bit set.
    for (i, b) in out[..n].iter_mut().enumerate() {
        let group = (l >> (7 * (n - 1 - i))) & 127;
        *b = group as u8 | if i == 0 { 0 } else { 128 };
    }
    if n == 5 {
        out[0] = (l >> 28) as u8;
    }
    (out, n)
}

/// Entries of a listpack, integers as decimal strings, after `lpValidateIntegrity` with
/// `deep` (header, every entry and its back-length in bounds, count).
fn listpack(lp: &[u8]) -> Option<Vec<Vec<u8>>> {
    const HEADER: usize = 6;
    let size = lp.len();
    if size < HEADER + 1 || u32_le(lp, 0) as usize != size || lp[size - 1] != 0xFF {
        return None;
    }
    let last = size - 1;
    let header_count = u16_le(lp, 4);
    let mut out = Vec::with_capacity((header_count as usize).min(size));
    let mut p = HEADER;
    while lp[p] != 0xFF {
        let b = lp[p];
        // (bytes to read the size, encoding-header size, data length, integer width or 0)
        let (size_bytes, hdr, data_len, int_width): (usize, usize, usize, usize) = if b & 0x80 == 0 {
            (1, 1, 0, 0) // 7-bit unsigned, in the encoding byte
        } else if b & 0xC0 == 0x80 {
            (1, 1, (b & 0x3F) as usize, 0)
        } else if b & 0xE0 == 0xC0 {
            (1, 2, 0, 0) // 13-bit signed
        } else if b & 0xF0 == 0xE0 {
            if p + 2 > last {
                return None;
            }
            (2, 2, (((b & 0x0F) as usize) << 8) | lp[p + 1] as usize, 0)
        } else {
            match b {
                0xF0 => {
                    if p + 5 > last {
                        return None;
                    }
                    (5, 5, u32_le(lp, p + 1) as usize, 0)
                }
                0xF1 => (1, 1, 2, 2),
                0xF2 => (1, 1, 3, 3),
                0xF3 => (1, 1, 4, 4),
                0xF4 => (1, 1, 8, 8),
                _ => return None,
            }
        };
        if p + size_bytes > last {
            return None;
        }
        let entry_len = hdr.checked_add(data_len)?;
        let (backlen, backlen_size) = lp_backlen(entry_len);
        let end = p.checked_add(entry_len)?.checked_add(backlen_size)?;
        if end > last || lp[p + entry_len..end] != backlen[..backlen_size] {
            return None;
        }
        let payload = &lp[p + hdr..p + entry_len];
        let value: Vec<u8> = if b & 0x80 == 0 {
            (b as i64).to_string().into_bytes()
        } else if b & 0xE0 == 0xC0 {
            let u = (((b & 0x1F) as i64) << 8) | lp[p + 1] as i64;
            (if u >= 1 << 12 { u - (1 << 13) } else { u }).to_string().into_bytes()
        } else if int_width > 0 {
            int_le(payload, int_width).to_string().into_bytes()
        } else {
            payload.to_vec()
        };
        out.push(value);
        p = end;
    }
    if p != last {
        return None;
    }
    if header_count != u16::MAX && out.len() != header_count as usize {
        return None;
    }
    Some(out)
}

/// Members of an intset after `intsetValidateIntegrity` with `deep`: a 2/4/8-byte encoding,
/// the exact size, not empty, strictly ascending.
fn intset(is: &[u8]) -> Option<Vec<i64>> {
    if is.len() < 8 {
        return None;
    }
    let width = u32_le(is, 0) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return None;
    }
    let count = u32_le(is, 4) as u64;
    if 8 + count * width as u64 != is.len() as u64 || count == 0 {
        return None;
    }
    let members: Vec<i64> = is[8..].chunks_exact(width).map(|c| int_le(c, width)).collect();
    members.windows(2).all(|w| w[0] < w[1]).then_some(members)
}

/// Field/value pairs of a zipmap (Redis < 2.6 hashes) after `zipmapValidateIntegrity`.
fn zipmap(zm: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let size = zm.len();
    if size < 2 || zm[size - 1] != 0xFF {
        return None;
    }
    let last = size - 1;
    // A length: one byte below 254, else 254/255 and a 4-byte little-endian length. Only the
    // canonical form is accepted (redis-server's iterator assumes it).
    let read_len = |p: usize| -> Option<(usize, usize)> {
        if zm[p] < 254 {
            return Some((zm[p] as usize, 1));
        }
        if p + 5 > last {
            return None;
        }
        let l = u32_le(zm, p + 1) as usize;
        (l >= 254).then_some((l, 5))
    };
    let mut out = Vec::new();
    let mut p = 1;
    while zm[p] != 0xFF {
        let (flen, s) = read_len(p)?;
        let field_at = p + s;
        p = field_at.checked_add(flen)?;
        if p > last {
            return None;
        }
        let (vlen, s) = read_len(p)?;
        let free_at = p + s;
        if free_at > last {
            return None;
        }
        let free = zm[free_at] as usize;
        let value_at = free_at + 1;
        let value_end = value_at.checked_add(vlen)?;
        p = value_end.checked_add(free)?;
        if p > last {
            return None;
        }
        out.push((zm[field_at..field_at + flen].to_vec(), zm[value_at..value_end].to_vec()));
    }
    if out.is_empty() || (zm[0] != 254 && zm[0] as usize != out.len()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::Entry;
    use crate::rdb::{dump, Header};

    // ---- builders for hand-made files ---------------------------------------------------

    fn len(n: u64) -> Vec<u8> {
        if n < 64 {
            vec![n as u8]
        } else if n < 16384 {
            vec![0x40 | (n >> 8) as u8, n as u8]
        } else if n <= u32::MAX as u64 {
            let mut v = vec![0x80];
            v.extend((n as u32).to_be_bytes());
            v
        } else {
            let mut v = vec![0x81];
            v.extend(n.to_be_bytes());
            v
        }
    }

    fn raw(s: &[u8]) -> Vec<u8> {
        let mut v = len(s.len() as u64);
        v.extend_from_slice(s);
        v
    }

    /// A complete file: header, body, EOF and the checksum.
    fn file(version: &str, body: &[u8]) -> Vec<u8> {
        let mut f = format!("REDIS{version}").into_bytes();
        f.extend_from_slice(body);
        f.push(OPCODE_EOF);
        let crc = crc64(0, &f);
        f.extend(crc.to_le_bytes());
        f
    }

    /// One key: type, key string, then the value bytes.
    fn record(t: u8, key: &str, value: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend(raw(key.as_bytes()));
        v.extend_from_slice(value);
        v
    }

    enum E<'a> {
        S(&'a [u8]),
        I(i64),
    }
    use E::{I, S};

    fn ziplist_of(entries: &[E]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for e in entries {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend((prev as u32).to_le_bytes());
            }
            match e {
                S(s) => {
                    let n = s.len();
                    if n < 64 {
                        body.push(n as u8);
                    } else if n < 16384 {
                        body.extend([0x40 | (n >> 8) as u8, n as u8]);
                    } else {
                        body.push(0x80);
                        body.extend((n as u32).to_be_bytes());
                    }
                    body.extend_from_slice(s);
                }
                I(v) => {
                    let v = *v;
                    if (0..=12).contains(&v) {
                        body.push(0xF1 + v as u8);
                    } else if i8::try_from(v).is_ok() {
                        body.extend([0xFE, v as u8]);
                    } else if i16::try_from(v).is_ok() {
                        body.push(0xC0);
                        body.extend((v as i16).to_le_bytes());
                    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                        body.push(0xF0);
                        body.extend(&(v as i32).to_le_bytes()[..3]);
                    } else if i32::try_from(v).is_ok() {
                        body.push(0xD0);
                        body.extend((v as i32).to_le_bytes());
                    } else {
                        body.push(0xE0);
                        body.extend(v.to_le_bytes());
                    }
                }
            }
            prev = body.len() - start;
        }
        let mut zl = Vec::new();
        zl.extend(((10 + body.len() + 1) as u32).to_le_bytes());
        zl.extend((tail as u32).to_le_bytes());
        zl.extend((entries.len().min(65535) as u16).to_le_bytes());
        zl.extend(body);
        zl.push(0xFF);
        zl
    }

    fn listpack_of(entries: &[E]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in entries {
            let mut enc = Vec::new();
            match e {
                S(s) => {
                    let n = s.len();
                    if n < 64 {
                        enc.push(0x80 | n as u8);
                    } else if n < 4096 {
                        enc.extend([0xE0 | (n >> 8) as u8, n as u8]);
                    } else {
                        enc.push(0xF0);
                        enc.extend((n as u32).to_le_bytes());
                    }
                    enc.extend_from_slice(s);
                }
                I(v) => {
                    let v = *v;
                    if (0..=127).contains(&v) {
                        enc.push(v as u8);
                    } else if (-4096..4096).contains(&v) {
                        let u = (v as u16) & 0x1FFF;
                        enc.extend([0xC0 | (u >> 8) as u8, u as u8]);
                    } else if i16::try_from(v).is_ok() {
                        enc.push(0xF1);
                        enc.extend((v as i16).to_le_bytes());
                    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                        enc.push(0xF2);
                        enc.extend(&(v as i32).to_le_bytes()[..3]);
                    } else if i32::try_from(v).is_ok() {
                        enc.push(0xF3);
                        enc.extend((v as i32).to_le_bytes());
                    } else {
                        enc.push(0xF4);
                        enc.extend(v.to_le_bytes());
                    }
                }
            }
            let (bl, n) = lp_backlen(enc.len());
            body.extend(enc);
            body.extend(&bl[..n]);
        }
        let mut lp = Vec::new();
        lp.extend(((6 + body.len() + 1) as u32).to_le_bytes());
        lp.extend((entries.len().min(65535) as u16).to_le_bytes());
        lp.extend(body);
        lp.push(0xFF);
        lp
    }

    fn intset_of(width: u32, members: &[i64]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(width.to_le_bytes());
        v.extend((members.len() as u32).to_le_bytes());
        for m in members {
            v.extend(&m.to_le_bytes()[..width as usize]);
        }
        v
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn list_of(loaded: &Loaded, db: usize, key: &str) -> Vec<Vec<u8>> {
        match &loaded.dbs[db].get(key.as_bytes()).expect("key loaded").value {
            Value::List(l) => l.iter().map(|v| v.to_vec()).collect(),
            other => panic!("{key} is not a list: {other:?}"),
        }
    }

    fn hash_of(loaded: &Loaded, db: usize, key: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        match &loaded.dbs[db].get(key.as_bytes()).expect("key loaded").value {
            Value::Hash(h) => h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
            other => panic!("{key} is not a hash: {other:?}"),
        }
    }

    fn set_of(loaded: &Loaded, db: usize, key: &str) -> Vec<Vec<u8>> {
        match &loaded.dbs[db].get(key.as_bytes()).expect("key loaded").value {
            Value::Set(s) => s.members().into_iter().map(<[u8]>::to_vec).collect(),
            other => panic!("{key} is not a set: {other:?}"),
        }
    }

    fn err(bytes: &[u8]) -> String {
        match load(bytes, 16) {
            Ok(_) => panic!("loaded although it should not"),
            Err(e) => e.0,
        }
    }

    // ---- round trip through the writer ----------------------------------------------------

    fn sample_dbs() -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..16).map(|_| Db::default()).collect();
        let s = |v: &[u8]| Value::Str(v.into());
        let db = &mut dbs[0];
        db.set(b"plain", s(b"hello"), false);
        db.set(b"int8", s(b"-5"), false);
        db.set(b"int16", s(b"1000"), false);
        db.set(b"int32", s(b"-100000"), false);
        db.set(b"bigint", s(b"12345678901234"), false);
        db.set(b"leading-zero", s(b"007"), false);
        db.set(b"", s(b""), false);
        db.set(b"42", s(&[0u8, 255, 13, 10]), false);
        db.set(b"long", s(&b"abcdefghij".repeat(50)), false);
        db.set(b"list", Value::List(Box::new(strs(&["a", "1", "", "-7", "b"]).into_iter().map(SmallBytes::from).collect())), false);
        let mut ints = SetValue::new();
        for m in ["5", "-3", "100000", "2"] {
            ints.insert(m.as_bytes().to_vec());
        }
        db.set(b"ints", Value::Set(Box::new(ints)), false);
        let mut words = SetValue::new();
        for m in ["x", "1", "y"] {
            words.insert(m.as_bytes().to_vec());
        }
        db.set(b"words", Value::Set(Box::new(words)), false);
        let mut h = IndexMap::new();
        h.insert(SmallBytes::new(b"f1"), SmallBytes::new(b"v1"));
        h.insert(SmallBytes::new(b"2"), SmallBytes::new(b"300"));
        h.insert(SmallBytes::new(b"z"), SmallBytes::new(b""));
        db.set(b"hash", Value::Hash(Box::new(h)), false);
        db.set_expire(b"plain", 4_102_444_800_000);
        db.set_expire(b"list", 1);
        let db3 = &mut dbs[3];
        db3.set(b"other", s(b"db3"), false);
        db3.set_expire(b"other", 1_700_000_000_123);
        dbs[15].set(b"last", Value::List(Box::new(strs(&["only"]).into_iter().map(SmallBytes::from).collect())), false);
        dbs
    }

    fn sample_file() -> Vec<u8> {
        dump(&sample_dbs(), &Header { unix_seconds: 1_700_000_000, used_mem: 1_000_000, repl: None })
    }

    fn assert_same(a: &[Db], b: &[Db]) {
        assert_eq!(a.len(), b.len());
        for (id, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x.len(), y.len(), "db {id} size");
            assert_eq!(x.expires_len(), y.expires_len(), "db {id} expires");
            for (k, e) in x.iter() {
                let other: Option<&Entry> = y.get(k);
                assert_eq!(Some(e), other, "db {id} key {:?}", lossy(k));
            }
        }
    }

    #[test]
    fn rdb_round_trip_through_the_writer() {
        let dbs = sample_dbs();
        let header = Header {
            unix_seconds: 1_700_000_000,
            used_mem: 1_000_000,
            repl: Some(crate::rdb::ReplInfo { stream_db: 3, replid: "a".repeat(40), offset: 1234 }),
        };
        let loaded = load(&dump(&dbs, &header), 16).expect("loads");
        assert_same(&dbs, &loaded.dbs);
        assert_eq!(hash_of(&loaded, 0, "hash"), vec![
            (b"f1".to_vec(), b"v1".to_vec()),
            (b"2".to_vec(), b"300".to_vec()),
            (b"z".to_vec(), Vec::new()),
        ]);
        assert_eq!(list_of(&loaded, 0, "list"), strs(&["a", "1", "", "-7", "b"]));
        assert_eq!(loaded.aux.get("redis-ver").map(|v| v.as_slice()), Some(&b"7.0.15"[..]));
        assert_eq!(loaded.aux.get("repl-offset").map(|v| v.as_slice()), Some(&b"1234"[..]));
        assert_eq!(loaded.aux.get("repl-id").map(|v| v.len()), Some(40));
        assert_eq!(loaded.aux.get("ctime").map(|v| v.as_slice()), Some(&b"1700000000"[..]));
        // Intsets still iterate in ascending order after the trip.
        assert_eq!(set_of(&loaded, 0, "ints"), strs(&["-3", "2", "5", "100000"]));
        // The digest a real server would compute from the same data.
        let mut direct = [0u8; 20];
        for (id, db) in dbs.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
            mix_digest(&mut direct, &(id as u32).to_be_bytes());
            for (k, e) in db.iter() {
                xor_digest(&mut direct, &crate::digest::entry(k, e));
            }
        }
        assert_eq!(digest_of(&loaded), crate::digest::hex(&direct));
    }

    #[test]
    fn rdb_empty_dataset_digest_is_all_zeros() {
        let loaded = load(&dump(&[Db::default()], &Header { unix_seconds: 0, used_mem: 0, repl: None }), 16).unwrap();
        assert_eq!(loaded.dbs.len(), 16);
        assert_eq!(digest_of(&loaded), "0".repeat(40));
    }

    #[test]
    fn rdb_every_truncation_is_an_error() {
        let f = sample_file();
        for cut in 0..f.len() {
            match load(&f[..cut], 16) {
                Ok(_) => panic!("a file cut at {cut} of {} bytes loaded", f.len()),
                Err(e) => assert!(!e.0.is_empty()),
            }
        }
        assert!(load(&f, 16).is_ok());
        // Bytes after the checksum are ignored, as when redis-server reads a file.
        let mut longer = f.clone();
        longer.extend_from_slice(b"trailing");
        assert!(load(&longer, 16).is_ok());
    }

    #[test]
    fn rdb_flipped_bytes_are_errors_and_never_panic() {
        let f = sample_file();
        // A flipped byte inside a value: the structure still parses, the checksum catches it.
        let at = f.windows(5).position(|w| w == b"hello").expect("value in file") + 1;
        let mut bad = f.clone();
        bad[at] ^= 0x20;
        let e = err(&bad);
        assert!(e.starts_with("Wrong RDB checksum expected: ("), "{e}");
        let expected = format!("{:x}", crc64(0, &bad[..bad.len() - 8]));
        let got = format!("{:x}", u64::from_le_bytes(bad[bad.len() - 8..].try_into().unwrap()));
        assert_eq!(e, format!("Wrong RDB checksum expected: ({expected}) but got ({got}). Aborting now."));
        // Any single flipped byte anywhere: an error (of some kind), never a panic. The version
        // digits are the exception: "0010" flipped to "00\xB0" reads as version 1 (C atoi), a
        // format without a checksum, which loads just as redis-server would load it.
        for i in (0..f.len()).filter(|i| !(5..9).contains(i)) {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut bad = f.clone();
                bad[i] ^= mask;
                assert!(load(&bad, 16).is_err(), "flip {mask:#x} at {i} loaded");
            }
        }
    }

    #[test]
    fn rdb_checksum_zero_disables_the_check_and_old_versions_have_none() {
        let mut f = sample_file();
        let n = f.len();
        f[n - 8..].fill(0);
        let loaded = load(&f, 16).expect("checksum 0 = disabled");
        assert_same(&sample_dbs(), &loaded.dbs);
        // Version 4 files end at the EOF opcode.
        let mut v4 = b"REDIS0004".to_vec();
        v4.extend(record(TYPE_STRING, "k", &raw(b"v")));
        v4.push(OPCODE_EOF);
        let loaded = load(&v4, 16).expect("v4 without checksum");
        assert_eq!(loaded.dbs[0].get(b"k").unwrap().value, Value::Str(b"v"[..].into()));
    }

    #[test]
    fn rdb_header_checks() {
        assert_eq!(err(b"REDIS"), SHORT_READ);
        assert_eq!(err(b"RODIS0010\xFF"), "Wrong signature trying to load DB from file");
        assert_eq!(err(&file("0011", b"")), "Can't handle RDB format version 11");
        assert_eq!(err(&file("0000", b"")), "Can't handle RDB format version 0");
        assert_eq!(err(&file("abcd", b"")), "Can't handle RDB format version 0");
        assert!(load(&file("0010", b""), 16).is_ok());
        assert!(load(&file("0009", b""), 16).is_ok());
        assert!(load(&file("  10", b""), 16).is_ok(), "atoi skips leading blanks");
        assert!(load(&file("0001", b"")[..10], 16).is_ok(), "v1: no checksum");
    }

    #[test]
    fn rdb_selectdb_bounds_and_database_count() {
        let mut body = vec![OPCODE_SELECTDB];
        body.extend(len(16));
        assert_eq!(
            err(&file("0010", &body)),
            "FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting"
        );
        let mut body = vec![OPCODE_SELECTDB];
        body.extend(len(5));
        body.extend([OPCODE_RESIZEDB, 1, 0]);
        body.extend(record(TYPE_STRING, "k", &raw(b"v")));
        let f = file("0010", &body);
        assert!(load(&f, 6).is_ok());
        assert!(load(&f, 5).is_err());
        let loaded = load(&f, 6).unwrap();
        assert_eq!(loaded.dbs.len(), 6);
        assert_eq!(loaded.dbs[5].len(), 1);
        // No database at all: not even db 0 exists for a key.
        assert!(load(&file("0010", &record(TYPE_STRING, "k", &raw(b"v"))), 0).is_err());
        assert!(load(&file("0010", b""), 0).is_ok());
    }

    #[test]
    fn rdb_opcodes_expires_idle_freq_and_functions() {
        let mut body = Vec::new();
        // AUX with an integer-encoded value.
        body.push(OPCODE_AUX);
        body.extend(raw(b"redis-bits"));
        body.extend([0xC0, 64]);
        // EXPIRETIME in seconds, then IDLE and FREQ, all for the next key.
        body.push(OPCODE_EXPIRETIME);
        body.extend(1_700_000_000i32.to_le_bytes());
        body.push(OPCODE_IDLE);
        body.extend(len(1000));
        body.push(OPCODE_FREQ);
        body.push(5);
        body.extend(record(TYPE_STRING, "secs", &raw(b"a")));
        // The expire does not leak to the next key.
        body.extend(record(TYPE_STRING, "none", &raw(b"b")));
        body.push(OPCODE_EXPIRETIME_MS);
        body.extend(1_700_000_000_123i64.to_le_bytes());
        // A function library between the expire and its key is skipped.
        body.push(OPCODE_FUNCTION2);
        body.extend(raw(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"));
        body.push(OPCODE_FUNCTION_PRE_GA);
        body.extend(raw(b"lib2"));
        body.extend(raw(b"LUA"));
        body.extend(len(1));
        body.extend(raw(b"a description"));
        body.extend(raw(b"return 1"));
        body.extend(record(TYPE_STRING, "ms", &raw(b"c")));
        body.push(OPCODE_EXPIRETIME_MS);
        body.extend((-5i64).to_le_bytes());
        body.extend(record(TYPE_STRING, "past", &raw(b"d")));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        let db = &loaded.dbs[0];
        assert_eq!(db.get(b"secs").unwrap().expire_at, Some(1_700_000_000_000));
        assert_eq!(db.get(b"none").unwrap().expire_at, None);
        assert_eq!(db.get(b"ms").unwrap().expire_at, Some(1_700_000_000_123));
        assert_eq!(db.get(b"past").unwrap().expire_at, Some(0));
        assert_eq!(db.expires_len(), 3);
        assert_eq!(loaded.aux.get("redis-bits").map(|v| v.as_slice()), Some(&b"64"[..]));
    }

    #[test]
    fn rdb_module_aux_and_unsupported_types() {
        // Module id for "mytype-ab" encoding version 3.
        let name = b"mytype-ab";
        let cset = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id: u64 = 0;
        for c in name {
            id = (id << 6) | cset.iter().position(|x| x == c).unwrap() as u64;
        }
        id = (id << 10) | 3;
        let mut body = vec![OPCODE_MODULE_AUX];
        body.extend(len(id));
        body.extend(len(2));
        body.extend(len(1));
        assert_eq!(
            err(&file("0010", &body)),
            "The RDB file contains AUX module data I can't load: no matching module 'mytype-ab'"
        );
        assert_eq!(
            err(&file("0010", &record(TYPE_MODULE_2, "m", &len(id)))),
            "The RDB file contains module data I can't load: no matching module type 'mytype-ab'"
        );
        let e = err(&file("0010", &record(TYPE_ZSET_2, "z", &len(1))));
        assert!(e.contains("Unsupported RDB value type 5 (sorted set) for key 'z'") && e.contains("no sorted sets"), "{e}");
        let e = err(&file("0010", &record(TYPE_ZSET_LISTPACK, "z", &len(1))));
        assert!(e.contains("sorted set"), "{e}");
        let e = err(&file("0010", &record(TYPE_STREAM_LISTPACKS_2, "s", &len(1))));
        assert!(e.contains("(stream)") && e.contains("no streams"), "{e}");
        assert_eq!(err(&file("0010", &record(8, "k", b""))), "Unknown RDB encoding type 8");
        assert_eq!(err(&file("0010", &record(20, "k", b""))), "Unknown RDB encoding type 20");
        assert_eq!(err(&file("0010", &record(0xF4, "k", b""))), "Unknown RDB encoding type 244");
    }

    #[test]
    fn rdb_string_encodings_and_lzf() {
        let mut body = Vec::new();
        body.extend(record(TYPE_STRING, "i8", &[0xC0, 0x80]));
        body.extend(record(TYPE_STRING, "i16", &[0xC1, 0x00, 0x80]));
        body.extend(record(TYPE_STRING, "i32", &[0xC2, 0xFF, 0xFF, 0xFF, 0x7F]));
        // "abc" literal, then a short back reference (3 bytes) and a long one (9 bytes).
        let lzf = [0x02, b'a', b'b', b'c', 0x20, 0x02, 0xE0, 0x00, 0x02];
        let mut v = vec![0xC3];
        v.extend(len(lzf.len() as u64));
        v.extend(len(15));
        v.extend(lzf);
        body.extend(record(TYPE_STRING, "lzf", &v));
        // A 14-bit and a 32-bit length.
        body.extend(record(TYPE_STRING, "len14", &[0x40, 3, b'x', b'y', b'z']));
        body.extend(record(TYPE_STRING, "len32", &[0x80, 0, 0, 0, 2, b'o', b'k']));
        body.extend(record(TYPE_STRING, "len64", &[0x81, 0, 0, 0, 0, 0, 0, 0, 1, b'!']));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        let get = |k: &str| match &loaded.dbs[0].get(k.as_bytes()).unwrap().value {
            Value::Str(s) => lossy(s),
            _ => unreachable!(),
        };
        assert_eq!(get("i8"), "-128");
        assert_eq!(get("i16"), "-32768");
        assert_eq!(get("i32"), "2147483647");
        assert_eq!(get("lzf"), "abcabcabcabcabc");
        assert_eq!(get("len14"), "xyz");
        assert_eq!(get("len32"), "ok");
        assert_eq!(get("len64"), "!");

        // Wrong decompressed length, back reference before the start, bad encodings.
        let lzf_err = |clen_bytes: &[u8], declared: u64| {
            let mut v = vec![0xC3];
            v.extend(len(clen_bytes.len() as u64));
            v.extend(len(declared));
            v.extend_from_slice(clen_bytes);
            err(&file("0010", &record(TYPE_STRING, "k", &v)))
        };
        assert_eq!(lzf_err(&lzf, 14), "Invalid LZF compressed string");
        assert_eq!(lzf_err(&lzf, 16), "Invalid LZF compressed string");
        assert_eq!(lzf_err(&lzf, 0), "Invalid LZF compressed string");
        assert_eq!(lzf_err(&[0x00, b'a', 0x20, 0x05], 4), "Invalid LZF compressed string");
        assert_eq!(lzf_err(&[0x05, b'a'], 6), "Invalid LZF compressed string");
        assert_eq!(lzf_err(&[0x00, b'a'], u32::MAX as u64), "Invalid LZF compressed string");
        assert_eq!(err(&file("0010", &record(TYPE_STRING, "k", &[0xC4]))), "Unknown RDB string encoding type 4");
        assert_eq!(err(&file("0010", &record(TYPE_STRING, "k", &[0x82]))), "Unknown length encoding 2 in rdbLoadLen()");
        // A huge claimed length is a short read, not an allocation.
        assert_eq!(err(&file("0010", &record(TYPE_STRING, "k", &[0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0]))), SHORT_READ);
        assert_eq!(err(&file("0010", &record(TYPE_STRING, "k", &[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))), SHORT_READ);
        // (The EOF marker then reads as an element: 0xFF is string encoding 63.)
        assert_eq!(err(&file("0010", &record(TYPE_LIST, "k", &[0x80, 0xFF, 0xFF, 0xFF, 0xFF]))), "Unknown RDB string encoding type 63");
    }

    #[test]
    fn rdb_plain_collections_empty_and_duplicates() {
        let mut body = Vec::new();
        body.extend(record(TYPE_LIST, "empty-list", &len(0)));
        body.extend(record(TYPE_SET, "empty-set", &len(0)));
        body.extend(record(TYPE_HASH, "empty-hash", &len(0)));
        let mut v = len(3);
        for m in ["10", "-1", "x"] {
            v.extend(raw(m.as_bytes()));
        }
        body.extend(record(TYPE_SET, "mixed", &v));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        assert_eq!(loaded.dbs[0].len(), 1, "empty collections are skipped");
        assert_eq!(set_of(&loaded, 0, "mixed").len(), 3);

        let mut v = len(2);
        v.extend(raw(b"a"));
        v.extend(raw(b"a"));
        assert_eq!(err(&file("0010", &record(TYPE_SET, "s", &v))), "Duplicate set members detected");
        let mut v = len(2);
        v.extend(raw(b"f"));
        v.extend(raw(b"1"));
        v.extend(raw(b"f"));
        v.extend(raw(b"2"));
        assert_eq!(err(&file("0010", &record(TYPE_HASH, "h", &v))), "Duplicate hash fields detected");
        let mut body = record(TYPE_STRING, "k", &raw(b"1"));
        body.extend(record(TYPE_STRING, "k", &raw(b"2")));
        assert_eq!(err(&file("0010", &body)), "RDB has duplicated key 'k' in DB 0");
    }

    #[test]
    fn rdb_ziplist_encodings() {
        let long = vec![b'L'; 300];
        let very_long = vec![b'V'; 20_000];
        let entries = [
            S(b"a"),
            I(0),
            I(12),
            I(13),
            I(-128),
            I(1000),
            I(-32769),
            I(8_000_000),
            I(-8_388_608),
            I(2_000_000_000),
            I(i64::MIN),
            I(i64::MAX),
            S(b""),
            S(&long),
            S(&very_long),
            S(b"after-big-prevlen"),
        ];
        let expected: Vec<Vec<u8>> = vec![
            b"a".to_vec(),
            b"0".to_vec(),
            b"12".to_vec(),
            b"13".to_vec(),
            b"-128".to_vec(),
            b"1000".to_vec(),
            b"-32769".to_vec(),
            b"8000000".to_vec(),
            b"-8388608".to_vec(),
            b"2000000000".to_vec(),
            i64::MIN.to_string().into_bytes(),
            i64::MAX.to_string().into_bytes(),
            Vec::new(),
            long.clone(),
            very_long.clone(),
            b"after-big-prevlen".to_vec(),
        ];
        let zl = ziplist_of(&entries);
        assert_eq!(ziplist(&zl), Some(expected.clone()));

        let mut body = record(TYPE_LIST_ZIPLIST, "zl", &raw(&zl));
        // Quicklist v1: two ziplist nodes and an empty one in between.
        let mut v = len(3);
        v.extend(raw(&ziplist_of(&[S(b"x"), I(1)])));
        v.extend(raw(&ziplist_of(&[])));
        v.extend(raw(&ziplist_of(&[I(-2), S(b"y")])));
        body.extend(record(TYPE_LIST_QUICKLIST, "ql", &v));
        // Hash ziplist: field/value pairs, integers included.
        body.extend(record(TYPE_HASH_ZIPLIST, "hz", &raw(&ziplist_of(&[S(b"f"), I(7), I(3), S(b"v")]))));
        body.extend(record(TYPE_LIST_ZIPLIST, "empty", &raw(&ziplist_of(&[]))));
        body.extend(record(TYPE_HASH_ZIPLIST, "empty-h", &raw(&ziplist_of(&[]))));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        assert_eq!(list_of(&loaded, 0, "zl"), expected);
        assert_eq!(list_of(&loaded, 0, "ql"), strs(&["x", "1", "-2", "y"]));
        assert_eq!(hash_of(&loaded, 0, "hz"), vec![(b"f".to_vec(), b"7".to_vec()), (b"3".to_vec(), b"v".to_vec())]);
        assert_eq!(loaded.dbs[0].len(), 3);

        // Corruptions.
        let ok = ziplist_of(&[S(b"ab"), I(5)]);
        let list_err = |zl: &[u8]| err(&file("0010", &record(TYPE_LIST_ZIPLIST, "k", &raw(zl))));
        let mut bad = ok.clone();
        bad[0] += 1; // zlbytes
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut bad = ok.clone();
        bad[8] = 3; // count
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut bad = ok.clone();
        bad[4] = 10; // tail
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut bad = ok.clone();
        bad[11] = 60; // string length beyond the end
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut bad = ok.clone();
        bad[14] = 9; // prevlen of the second entry
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut bad = ok.clone();
        bad[15] = 0xC1; // invalid integer encoding
        assert_eq!(list_err(&bad), "List ziplist integrity check failed.");
        let mut unknown_count = ok.clone();
        unknown_count[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(ziplist(&unknown_count), Some(strs(&["ab", "5"])));
        assert_eq!(
            err(&file("0010", &record(TYPE_HASH_ZIPLIST, "h", &raw(&ziplist_of(&[S(b"f"), S(b"1"), S(b"f"), S(b"2")]))))),
            "Hash ziplist integrity check failed."
        );
        assert_eq!(
            err(&file("0010", &record(TYPE_HASH_ZIPLIST, "h", &raw(&ziplist_of(&[S(b"f")]))))),
            "Hash ziplist integrity check failed."
        );
        let mut v = len(1);
        v.extend(raw(&bad));
        assert_eq!(err(&file("0010", &record(TYPE_LIST_QUICKLIST, "q", &v))), "Ziplist integrity check failed.");
    }

    #[test]
    fn rdb_listpack_and_quicklist2_encodings() {
        let s64 = vec![b's'; 64];
        let s5000 = vec![b'5'; 5000];
        let entries = [
            I(0),
            I(127),
            I(128),
            I(-1),
            I(-4096),
            I(4095),
            I(-4097),
            I(32767),
            I(-32768),
            I(32768),
            I(-8_388_608),
            I(8_388_607),
            I(8_388_608),
            I(i32::MIN as i64),
            I(i32::MAX as i64 + 1),
            I(i64::MIN),
            S(b""),
            S(b"short"),
            S(&s64),
            S(&s5000),
        ];
        let mut expected: Vec<Vec<u8>> = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            -4097,
            32767,
            -32768,
            32768,
            -8_388_608,
            8_388_607,
            8_388_608,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MIN,
        ]
        .iter()
        .map(|v| v.to_string().into_bytes())
        .collect();
        expected.extend([Vec::new(), b"short".to_vec(), s64.clone(), s5000.clone()]);
        let lp = listpack_of(&entries);
        assert_eq!(listpack(&lp), Some(expected.clone()));

        let mut v = len(4);
        v.extend(len(CONTAINER_PACKED));
        v.extend(raw(&lp));
        v.extend(len(CONTAINER_PLAIN));
        v.extend(raw(b"a plain node"));
        v.extend(len(CONTAINER_PACKED));
        v.extend(raw(&listpack_of(&[])));
        v.extend(len(CONTAINER_PACKED));
        v.extend(raw(&listpack_of(&[S(b"end")])));
        let mut body = record(TYPE_LIST_QUICKLIST_2, "q2", &v);
        body.extend(record(TYPE_HASH_LISTPACK, "hl", &raw(&listpack_of(&[S(b"b"), I(-9), S(b"a"), S(&s64)]))));
        let mut v = len(1);
        v.extend(len(CONTAINER_PACKED));
        v.extend(raw(&listpack_of(&[])));
        body.extend(record(TYPE_LIST_QUICKLIST_2, "empty", &v));
        body.extend(record(TYPE_HASH_LISTPACK, "empty-h", &raw(&listpack_of(&[]))));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        let mut all = expected.clone();
        all.push(b"a plain node".to_vec());
        all.push(b"end".to_vec());
        assert_eq!(list_of(&loaded, 0, "q2"), all);
        assert_eq!(hash_of(&loaded, 0, "hl"), vec![(b"b".to_vec(), b"-9".to_vec()), (b"a".to_vec(), s64.clone())]);
        assert_eq!(loaded.dbs[0].len(), 2);

        // Corruptions.
        let q2_err = |container: u64, data: &[u8]| {
            let mut v = len(1);
            v.extend(len(container));
            v.extend(raw(data));
            err(&file("0010", &record(TYPE_LIST_QUICKLIST_2, "k", &v)))
        };
        let ok = listpack_of(&[S(b"ab"), I(300)]);
        assert!(listpack(&ok).is_some());
        assert_eq!(q2_err(3, &ok), "Quicklist integrity check failed.");
        assert_eq!(q2_err(CONTAINER_PLAIN, b""), SHORT_READ);
        let mut bad = ok.clone();
        bad[4] = 3; // count
        assert_eq!(q2_err(CONTAINER_PACKED, &bad), "Listpack integrity check failed.");
        let mut bad = ok.clone();
        bad[9] = 4; // back-length of the first entry
        assert_eq!(q2_err(CONTAINER_PACKED, &bad), "Listpack integrity check failed.");
        let mut bad = ok.clone();
        bad[6] = 0x80 | 40; // string length beyond the end
        assert_eq!(q2_err(CONTAINER_PACKED, &bad), "Listpack integrity check failed.");
        let mut bad = ok.clone();
        bad[10] = 0xF5; // invalid encoding
        assert_eq!(q2_err(CONTAINER_PACKED, &bad), "Listpack integrity check failed.");
        let mut unknown_count = ok.clone();
        unknown_count[4..6].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(listpack(&unknown_count), Some(strs(&["ab", "300"])));
        assert_eq!(
            err(&file("0010", &record(TYPE_HASH_LISTPACK, "h", &raw(&listpack_of(&[S(b"f"), S(b"1"), S(b"f"), S(b"2")]))))),
            "Hash listpack integrity check failed."
        );
        assert_eq!(
            err(&file("0010", &record(TYPE_HASH_LISTPACK, "h", &raw(&listpack_of(&[S(b"f"), S(b"1"), S(b"g")]))))),
            "Hash listpack integrity check failed."
        );
    }

    #[test]
    fn rdb_listpack_backlen_matches_lp_encode_backlen() {
        // The C function's byte formulas, verbatim.
        fn c(l: u64) -> Vec<u8> {
            if l <= 127 {
                vec![l as u8]
            } else if l < 16383 {
                vec![(l >> 7) as u8, ((l & 127) | 128) as u8]
            } else if l < 2097151 {
                vec![(l >> 14) as u8, (((l >> 7) & 127) | 128) as u8, ((l & 127) | 128) as u8]
            } else if l < 268435455 {
                vec![(l >> 21) as u8, (((l >> 14) & 127) | 128) as u8, (((l >> 7) & 127) | 128) as u8, ((l & 127) | 128) as u8]
            } else {
                vec![
                    (l >> 28) as u8,
                    (((l >> 21) & 127) | 128) as u8,
                    (((l >> 14) & 127) | 128) as u8,
                    (((l >> 7) & 127) | 128) as u8,
                    ((l & 127) | 128) as u8,
                ]
            }
        }
        for l in [0u64, 1, 127, 128, 5000, 16382, 16383, 16384, 2097150, 2097151, 268435454, 268435455, 1 << 32, u32::MAX as u64] {
            let (b, n) = lp_backlen(l as usize);
            assert_eq!(b[..n].to_vec(), c(l), "backlen of {l}");
        }
    }

    #[test]
    fn rdb_intset_encodings() {
        let mut body = Vec::new();
        body.extend(record(TYPE_SET_INTSET, "i16", &raw(&intset_of(2, &[-32768, -1, 0, 7, 32767]))));
        body.extend(record(TYPE_SET_INTSET, "i32", &raw(&intset_of(4, &[i32::MIN as i64, 40000]))));
        body.extend(record(TYPE_SET_INTSET, "i64", &raw(&intset_of(8, &[i64::MIN, 1, i64::MAX]))));
        let big: Vec<i64> = (0..600).collect();
        body.extend(record(TYPE_SET_INTSET, "big", &raw(&intset_of(2, &big))));
        let loaded = load(&file("0010", &body), 16).expect("loads");
        assert_eq!(set_of(&loaded, 0, "i16"), strs(&["-32768", "-1", "0", "7", "32767"]));
        assert_eq!(set_of(&loaded, 0, "i32"), strs(&["-2147483648", "40000"]));
        assert_eq!(set_of(&loaded, 0, "i64"), strs(&["-9223372036854775808", "1", "9223372036854775807"]));
        assert_eq!(set_of(&loaded, 0, "big").len(), 600);
        let intset_err = |blob: &[u8]| err(&file("0010", &record(TYPE_SET_INTSET, "k", &raw(blob))));
        let msg = "Intset integrity check failed.";
        assert_eq!(intset_err(&intset_of(2, &[])), msg);
        assert_eq!(intset_err(&intset_of(2, &[3, 1])), msg);
        assert_eq!(intset_err(&intset_of(2, &[1, 1])), msg);
        assert_eq!(intset_err(&intset_of(3, &[1])), msg);
        let mut short = intset_of(4, &[1, 2]);
        short.pop();
        assert_eq!(intset_err(&short), msg);
        let mut huge = intset_of(8, &[1]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(intset_err(&huge), msg);
    }

    #[test]
    fn rdb_zipmap_hashes() {
        // zmlen 2; "a"=>"1" with 2 free bytes; a 300-byte field (5-byte length) => "".
        let field = vec![b'f'; 300];
        let mut zm = vec![2, 1, b'a', 1, 2, b'1', 0, 0, 254];
        zm.extend(300u32.to_le_bytes());
        zm.extend(&field);
        zm.extend([0, 0, 0xFF]);
        let loaded = load(&file("0003", &record(TYPE_HASH_ZIPMAP, "zm", &raw(&zm)))[..], 16);
        // Version 3 has no checksum: the 8 trailing bytes are ignored.
        let loaded = loaded.expect("loads");
        assert_eq!(hash_of(&loaded, 0, "zm"), vec![(b"a".to_vec(), b"1".to_vec()), (field.clone(), Vec::new())]);
        let zm_err = |zm: &[u8]| err(&file("0010", &record(TYPE_HASH_ZIPMAP, "k", &raw(zm))));
        assert_eq!(zm_err(&[0, 0xFF]), "Zipmap integrity check failed.");
        assert_eq!(zm_err(&[3, 1, b'a', 1, 0, b'1', 0xFF]), "Zipmap integrity check failed.");
        assert_eq!(zm_err(&[1, 1, b'a', 9, 0, b'1', 0xFF]), "Zipmap integrity check failed.");
        assert_eq!(zm_err(&[1, 1, b'a', 1, 0, b'1']), "Zipmap integrity check failed.");
        assert_eq!(zm_err(&[254, 1, b'a', 1, 0, b'1', 1, b'a', 1, 0, b'2', 0xFF]), "Hash zipmap with dup elements, or big length (1)");
    }

    #[test]
    fn rdb_hostile_lengths_do_not_allocate_or_loop() {
        // Claimed element counts far beyond the file: short reads, quickly.
        for t in [TYPE_LIST, TYPE_SET, TYPE_HASH, TYPE_LIST_QUICKLIST, TYPE_LIST_QUICKLIST_2] {
            let mut f = b"REDIS0010".to_vec();
            f.extend(record(t, "k", &[0x81, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]));
            assert_eq!(err(&f), SHORT_READ, "type {t}");
            assert!(load(&file("0010", &record(t, "k", &[0x80, 0xFF, 0xFF, 0xFF, 0xFF])), 16).is_err());
        }
        // Blob headers claiming huge sizes.
        let mut zl = ziplist_of(&[S(b"a")]);
        zl[11] = 0x80;
        assert!(ziplist(&zl).is_none());
        let mut lp = listpack_of(&[S(b"a")]);
        lp[6] = 0xF0;
        assert!(listpack(&lp).is_none());
        let mut lp = vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF];
        lp.push(0xFF);
        assert!(listpack(&lp).is_none());
        // Every prefix of every blob kind is rejected without panicking.
        let blobs = [
            ziplist_of(&[S(b"abc"), I(70000), S(&[b'x'; 300])]),
            listpack_of(&[S(b"abc"), I(70000), S(&[b'x'; 300])]),
            intset_of(4, &[1, 2, 3]),
            vec![1, 1, b'a', 1, 0, b'1', 0xFF],
        ];
        for b in &blobs {
            for cut in 0..b.len() {
                let p = &b[..cut];
                assert!(ziplist(p).is_none() && listpack(p).is_none() && intset(p).is_none());
                let _ = zipmap(p);
            }
        }
    }
}

//! RDB snapshots: the file format redis-server 7.0 writes (version 10), used for SAVE and
//! SHUTDOWN SAVE now and for full resynchronisation later.
//!
//! The writer uses the plain encodings (string, list, set, hash) that every 7.0 loader still
//! reads; `redis-check-rdb` and a real redis-server accept the result.

use crate::keyspace::{Db, Value};
use crate::resp::string2ll;

const RDB_VERSION: &str = "0010";
const OPCODE_AUX: u8 = 0xFA;
const OPCODE_RESIZEDB: u8 = 0xFB;
const OPCODE_EXPIRETIME_MS: u8 = 0xFC;
const OPCODE_SELECTDB: u8 = 0xFE;
const OPCODE_EOF: u8 = 0xFF;
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_HASH: u8 = 4;

/// Replication facts stored in the snapshot so a restarted node can PSYNC (`rdbSaveInfo`).
#[derive(Clone, Debug)]
pub struct ReplInfo {
    pub stream_db: i64,
    pub replid: String,
    pub offset: i64,
}

/// Everything the header records besides the data.
#[derive(Clone, Debug)]
pub struct Header {
    pub unix_seconds: u64,
    pub used_mem: u64,
    pub repl: Option<ReplInfo>,
}

/// Serialises the databases as a complete RDB file, checksum included.
pub fn dump(dbs: &[Db], header: &Header) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"REDIS");
    out.extend_from_slice(RDB_VERSION.as_bytes());
    aux(&mut out, "redis-ver", crate::REDIS_VERSION.as_bytes());
    aux(&mut out, "redis-bits", b"64");
    aux(&mut out, "ctime", header.unix_seconds.to_string().as_bytes());
    aux(&mut out, "used-mem", header.used_mem.to_string().as_bytes());
    if let Some(r) = &header.repl {
        aux(&mut out, "repl-stream-db", r.stream_db.to_string().as_bytes());
        aux(&mut out, "repl-id", r.replid.as_bytes());
        aux(&mut out, "repl-offset", r.offset.to_string().as_bytes());
    }
    aux(&mut out, "aof-base", b"0");
    for (id, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        out.push(OPCODE_SELECTDB);
        length(&mut out, id as u64);
        out.push(OPCODE_RESIZEDB);
        length(&mut out, db.len() as u64);
        length(&mut out, db.expires_len() as u64);
        for (key, entry) in db.iter() {
            if let Some(at) = entry.expire_at {
                out.push(OPCODE_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            match &entry.value {
                Value::Str(s) => {
                    out.push(TYPE_STRING);
                    string(&mut out, key);
                    string(&mut out, s);
                }
                Value::List(l) => {
                    out.push(TYPE_LIST);
                    string(&mut out, key);
                    length(&mut out, l.len() as u64);
                    l.iter().for_each(|e| string(&mut out, e));
                }
                Value::Set(s) => {
                    out.push(TYPE_SET);
                    string(&mut out, key);
                    length(&mut out, s.len() as u64);
                    s.members().into_iter().for_each(|m| string(&mut out, m));
                }
                Value::Hash(h) => {
                    out.push(TYPE_HASH);
                    string(&mut out, key);
                    length(&mut out, h.len() as u64);
                    for (f, v) in h.iter() {
                        string(&mut out, f);
                        string(&mut out, v);
                    }
                }
            }
        }
    }
    out.push(OPCODE_EOF);
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn aux(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.push(OPCODE_AUX);
    string(out, key.as_bytes());
    string(out, value);
}

/// `rdbSaveLen`: 6-bit, 14-bit, 32-bit or 64-bit big-endian lengths.
fn length(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString`: short canonical integers are stored as 8/16/32-bit integers.
fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = string2ll(s) {
            if let Ok(b) = i8::try_from(v) {
                out.push(0xC0);
                out.push(b as u8);
                return;
            }
            if let Ok(w) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&w.to_le_bytes());
                return;
            }
            if let Ok(d) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&d.to_le_bytes());
                return;
            }
        }
    }
    length(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Redis's CRC-64 (Jones polynomial, reflected), as `crc64.c`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    const POLY: u64 = 0x95AC_9329_AC4B_C9B5; // 0xad93d23594c935a9 bit-reversed
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_test_vector() {
        // crc64.c's own self-test: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn lengths_and_integer_strings_use_redis_encodings() {
        let mut out = Vec::new();
        length(&mut out, 10);
        length(&mut out, 300);
        length(&mut out, 70_000);
        assert_eq!(out, [10, 0x41, 0x2C, 0x80, 0, 1, 0x11, 0x70]);
        let mut out = Vec::new();
        string(&mut out, b"-5");
        string(&mut out, b"1000");
        string(&mut out, b"100000");
        string(&mut out, b"007");
        assert_eq!(out, [0xC0, 0xFB, 0xC1, 0xE8, 0x03, 0xC2, 0xA0, 0x86, 0x01, 0x00, 3, b'0', b'0', b'7']);
    }

    #[test]
    fn empty_dataset_file_layout() {
        let file = dump(&[Db::default()], &Header { unix_seconds: 1, used_mem: 2, repl: None });
        assert!(file.starts_with(b"REDIS0010\xFA\x09redis-ver\x067.0.15"));
        let body = &file[..file.len() - 8];
        assert_eq!(body.last(), Some(&OPCODE_EOF));
        assert_eq!(&file[file.len() - 8..], &crc64(0, body).to_le_bytes());
    }
}

//! DEBUG DIGEST: redis-server's dataset digest (debug.c `computeDatasetDigest`), so a dataset
//! can be compared with a real server's by one 40-hex string.

use crate::keyspace::{Entry, Value};
use crate::server::Server;

type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

/// `xorDigest`: digest ^= SHA1(data). Order-independent, used for unordered collections.
fn xor_digest(digest: &mut Digest, data: &[u8]) {
    let h = sha1(data);
    for (d, x) in digest.iter_mut().zip(h) {
        *d ^= x;
    }
}

/// `mixDigest`: digest = SHA1(digest ^ SHA1(data)). Order-dependent.
fn mix_digest(digest: &mut Digest, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// The digest of one key and its value (the key mixed in, then `xorObjectDigest`).
pub fn entry(key: &[u8], e: &Entry) -> Digest {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    object_into(&mut d, e);
    d
}

/// DEBUG DIGEST-VALUE: `xorObjectDigest` alone, from a zero digest (the key is not mixed in).
pub fn value(e: &Entry) -> Digest {
    let mut d = [0u8; 20];
    object_into(&mut d, e);
    d
}

fn object_into(d: &mut Digest, e: &Entry) {
    let type_id: u32 = match e.value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::Hash(_) => 4,
    };
    mix_digest(d, &type_id.to_be_bytes());
    match &e.value {
        Value::Str(s) => mix_digest(d, s),
        Value::List(l) => l.iter().for_each(|v| mix_digest(d, v)),
        Value::Set(s) => s.members().into_iter().for_each(|m| xor_digest(d, m)),
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                let mut ele = [0u8; 20];
                mix_digest(&mut ele, f);
                mix_digest(&mut ele, v);
                xor_digest(d, &ele);
            }
        }
    }
    if e.expire_at.is_some() {
        xor_digest(d, b"!!expire!!");
    }
}

/// The whole dataset; all zeros when it is empty.
pub fn dataset(server: &Server) -> Digest {
    let mut fin = [0u8; 20];
    for (id, db) in server.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(id as u32).to_be_bytes());
        for (key, e) in db.iter() {
            let d = entry(key, e);
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

//! Hash commands (t_hash.c).

use indexmap::IndexMap;

use super::{int_arg, int_reply, wrongtype, CmdResult, Ctx};
use crate::keyspace::Value;
use crate::small_bytes::SmallBytes;
use crate::resp::{string2ll, Frame};

type Hash = IndexMap<SmallBytes, SmallBytes>;

fn read_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c Hash>, Frame> {
    match ctx.server.lookup_read(ctx.db, key, ctx.now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(wrongtype()),
        },
    }
}

/// The hash at `key` for writing, created empty if missing.
fn write_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut Hash, Frame> {
    let exists = match ctx.server.lookup_write(ctx.db, key, ctx.now) {
        Some(e) if !matches!(e.value, Value::Hash(_)) => return Err(wrongtype()),
        Some(_) => true,
        None => false,
    };
    let db = ctx.server.db_mut(ctx.db);
    if !exists {
        db.set(key, Value::Hash(Box::default()), false);
    }
    match db.get_mut(key).map(|e| &mut e.value) {
        Some(Value::Hash(h)) => Ok(h),
        _ => Err(wrongtype()),
    }
}

pub fn hset(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() % 2 == 1 {
        return Err(super::arity_error("hset"));
    }
    let h = write_hash(ctx, &a[1])?;
    let mut created = 0;
    for pair in a[2..].chunks(2) {
        if h.insert(pair[0][..].into(), pair[1][..].into()).is_none() {
            created += 1;
        }
    }
    ctx.propagate_as_is(a);
    Ok(int_reply(created))
}

pub fn hget(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let v = read_hash(ctx, &a[1])?.and_then(|h| h.get(&a[2][..]).map(|v| v.to_vec()));
    Ok(v.map(Frame::Bulk).unwrap_or(Frame::Null))
}

pub fn hdel(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let key = &a[1];
    let Some(entry) = ctx.server.lookup_write(ctx.db, key, ctx.now) else { return Ok(Frame::Integer(0)) };
    let Value::Hash(h) = &mut entry.value else { return Err(wrongtype()) };
    let mut deleted = 0;
    for field in &a[2..] {
        if h.shift_remove(&field[..]).is_some() {
            deleted += 1;
        }
    }
    if h.is_empty() {
        ctx.server.db_mut(ctx.db).remove(key);
    }
    if deleted > 0 {
        ctx.propagate_as_is(a);
    }
    Ok(int_reply(deleted))
}

pub fn hgetall(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let Some(h) = read_hash(ctx, &a[1])? else { return Ok(Frame::Array(vec![])) };
    let mut out = Vec::with_capacity(h.len() * 2);
    for (f, v) in h {
        out.push(Frame::Bulk(f.to_vec()));
        out.push(Frame::Bulk(v.to_vec()));
    }
    Ok(Frame::Array(out))
}

pub fn hlen(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(int_reply(read_hash(ctx, &a[1])?.map(|h| h.len()).unwrap_or(0)))
}

pub fn hexists(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let found = read_hash(ctx, &a[1])?.is_some_and(|h| h.contains_key(&a[2][..]));
    Ok(Frame::Integer(found as i64))
}

pub fn hincrby(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let by = int_arg(&a[3])?;
    let h = write_hash(ctx, &a[1])?;
    let current = match h.get(&a[2][..]) {
        Some(v) => string2ll(v).ok_or_else(|| Frame::err("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = current
        .checked_add(by)
        .ok_or_else(|| Frame::err("ERR increment or decrement would overflow"))?;
    h.insert(a[2][..].into(), new.to_string().into_bytes().into());
    ctx.propagate_as_is(a);
    Ok(Frame::Integer(new))
}

//! Set commands (t_set.c).

use super::{argv, int_reply, positive_count, wrongtype, CmdResult, Ctx};
use crate::keyspace::{SetValue, Value};
use crate::resp::Frame;

fn read_set<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c SetValue>, Frame> {
    match ctx.server.lookup_read(ctx.db, key, ctx.now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(wrongtype()),
        },
    }
}

pub fn sadd(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let key = &a[1];
    let exists = match ctx.server.lookup_write(ctx.db, key, ctx.now) {
        Some(e) if !matches!(e.value, Value::Set(_)) => return Err(wrongtype()),
        Some(_) => true,
        None => false,
    };
    let db = ctx.server.db_mut(ctx.db);
    if !exists {
        db.set(key, Value::Set(Box::new(SetValue::new())), false);
    }
    let Some(Value::Set(set)) = db.get_mut(key).map(|e| &mut e.value) else { return Err(wrongtype()) };
    let added = a[2..].iter().filter(|m| set.insert(m.to_vec())).count();
    if added > 0 {
        ctx.propagate_as_is(a);
    }
    Ok(int_reply(added))
}

pub fn srem(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let key = &a[1];
    let Some(entry) = ctx.server.lookup_write(ctx.db, key, ctx.now) else { return Ok(Frame::Integer(0)) };
    let Value::Set(set) = &mut entry.value else { return Err(wrongtype()) };
    let removed = a[2..].iter().filter(|m| set.remove(m)).count();
    if set.is_empty() {
        ctx.server.db_mut(ctx.db).remove(key);
    }
    if removed > 0 {
        ctx.propagate_as_is(a);
    }
    Ok(int_reply(removed))
}

pub fn smembers(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let Some(set) = read_set(ctx, &a[1])? else { return Ok(Frame::Array(vec![])) };
    Ok(Frame::Array(set.members().into_iter().map(|m| Frame::Bulk(m.to_vec())).collect()))
}

pub fn scard(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(int_reply(read_set(ctx, &a[1])?.map(|s| s.len()).unwrap_or(0)))
}

pub fn sismember(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(Frame::Integer(read_set(ctx, &a[1])?.is_some_and(|s| s.contains(&a[2])) as i64))
}

pub fn spop(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() > 3 {
        return Err(super::syntax_error());
    }
    let count = match a.get(2) {
        Some(c) => Some(positive_count(c)?),
        None => None,
    };
    let key = &a[1];
    let len = match ctx.server.lookup_write(ctx.db, key, ctx.now) {
        None => return Ok(if count.is_some() { Frame::Array(vec![]) } else { Frame::Null }),
        Some(e) => match &e.value {
            Value::Set(s) => s.len(),
            _ => return Err(wrongtype()),
        },
    };
    let want = count.map(|c| c as usize).unwrap_or(1).min(len);
    let mut popped = Vec::with_capacity(want);
    for _ in 0..want {
        let remaining = len - popped.len();
        let i = ctx.server.rng.below(remaining);
        let Some(Value::Set(set)) = ctx.server.db_mut(ctx.db).get_mut(key).map(|e| &mut e.value) else { break };
        let Some(m) = set.member_at(i).map(<[u8]>::to_vec) else { break };
        set.remove(&m);
        popped.push(m);
    }
    let now_empty = matches!(ctx.server.db(ctx.db).get(key).map(|e| &e.value), Some(Value::Set(s)) if s.is_empty());
    if now_empty {
        ctx.server.db_mut(ctx.db).remove(key);
    }
    // SPOP is not deterministic: replicas get what was actually removed.
    match count {
        Some(_) if now_empty => ctx.propagate(argv([b"DEL", key])),
        _ => {
            for m in &popped {
                ctx.propagate(argv([b"SREM", key, m]));
            }
        }
    }
    match count {
        None => Ok(popped.pop().map(Frame::Bulk).unwrap_or(Frame::Null)),
        Some(_) => Ok(Frame::Array(popped.into_iter().map(Frame::Bulk).collect())),
    }
}

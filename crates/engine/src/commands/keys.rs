//! Generic key commands (db.c, expire.c).

use super::{argv, eq_ic, int_arg, int_reply, syntax_error, CmdResult, Ctx};
use crate::glob::glob_match;
use crate::resp::Frame;

pub fn del(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut n = 0;
    for key in &a[1..] {
        ctx.server.expire_if_needed(ctx.db, key, ctx.now);
        if ctx.server.db_mut(ctx.db).remove(key).is_some() {
            n += 1;
        }
    }
    if n > 0 {
        ctx.propagate_as_is(a);
    }
    Ok(int_reply(n))
}

pub fn exists(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut n = 0;
    for key in &a[1..] {
        if ctx.server.lookup_read(ctx.db, key, ctx.now).is_some() {
            n += 1;
        }
    }
    Ok(int_reply(n))
}

/// `expireGenericCommand`: `basetime` is added to the (unit-converted) argument.
fn expire_generic(ctx: &mut Ctx, a: &[Vec<u8>], basetime: i64, seconds: bool, cmd: &str) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &a[3..] {
        if eq_ic(opt, "nx") {
            nx = true;
        } else if eq_ic(opt, "xx") {
            xx = true;
        } else if eq_ic(opt, "gt") {
            gt = true;
        } else if eq_ic(opt, "lt") {
            lt = true;
        } else {
            return Err(Frame::err(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Frame::err("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Err(Frame::err("ERR GT and LT options at the same time are not compatible"));
    }
    let invalid = || Frame::err(format!("ERR invalid expire time in '{cmd}' command"));
    let mut when = int_arg(&a[2])?;
    if seconds {
        if when > i64::MAX / 1000 || when < i64::MIN / 1000 {
            return Err(invalid());
        }
        when *= 1000;
    }
    if when > i64::MAX - basetime {
        return Err(invalid());
    }
    when += basetime;
    let key = &a[1];
    let Some(entry) = ctx.server.lookup_write(ctx.db, key, ctx.now) else {
        return Ok(Frame::Integer(0));
    };
    let current = entry.expire_at.map(|t| t as i64);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Frame::Integer(0));
    }
    // `checkAlreadyExpired`: never on a replica, which waits for its master's DEL.
    let already = when <= ctx.now.as_u64() as i64 && !ctx.server.repl.is_replica;
    let db = ctx.server.db_mut(ctx.db);
    if already {
        // Already in the past: the key is deleted now (and a DEL is what replicas get).
        db.remove(key);
        ctx.propagate(argv([b"DEL", key]));
    } else {
        db.set_expire(key, when as u64);
        ctx.propagate(argv([b"PEXPIREAT", key, when.to_string().as_bytes()]));
    }
    Ok(Frame::Integer(1))
}

pub fn expire(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let now = ctx.now.as_u64() as i64;
    expire_generic(ctx, a, now, true, "expire")
}

pub fn pexpire(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let now = ctx.now.as_u64() as i64;
    expire_generic(ctx, a, now, false, "pexpire")
}

pub fn expireat(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    expire_generic(ctx, a, 0, true, "expireat")
}

pub fn pexpireat(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    expire_generic(ctx, a, 0, false, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx, key: &[u8], millis: bool) -> CmdResult {
    let now = ctx.now.as_u64();
    let Some(entry) = ctx.server.lookup_read(ctx.db, key, ctx.now) else {
        return Ok(Frame::Integer(-2));
    };
    let Some(at) = entry.expire_at else { return Ok(Frame::Integer(-1)) };
    let left = at.saturating_sub(now) as i64;
    Ok(Frame::Integer(if millis { left } else { (left + 500) / 1000 }))
}

pub fn ttl(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    ttl_generic(ctx, &a[1], false)
}

pub fn pttl(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    ttl_generic(ctx, &a[1], true)
}

pub fn persist(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if ctx.server.lookup_write(ctx.db, &a[1], ctx.now).is_none() {
        return Ok(Frame::Integer(0));
    }
    let removed = ctx.server.db_mut(ctx.db).persist(&a[1]);
    if removed {
        ctx.propagate_as_is(a);
    }
    Ok(Frame::Integer(removed as i64))
}

pub fn type_cmd(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let name = match ctx.server.lookup_read(ctx.db, &a[1], ctx.now) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    Ok(Frame::Simple(name.into()))
}

pub fn keys(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let pattern = &a[1];
    let all = pattern.as_slice() == b"*";
    let now = ctx.now.as_u64();
    let db = ctx.server.db(ctx.db);
    let out: Vec<Frame> = db
        .keys()
        .filter(|k| all || glob_match(pattern, k, false))
        .filter(|k| !db.is_expired(k, now))
        .map(|k| Frame::Bulk(k.to_vec()))
        .collect();
    Ok(Frame::Array(out))
}

pub fn scan(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let cursor = std::str::from_utf8(&a[1])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Frame::err("ERR invalid cursor"))?;
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<String> = None;
    let mut i = 2;
    while i < a.len() {
        let has_value = i + 1 < a.len();
        if eq_ic(&a[i], "count") && has_value {
            let n = int_arg(&a[i + 1])?;
            if n < 1 {
                return Err(syntax_error());
            }
            count = n as usize;
        } else if eq_ic(&a[i], "match") && has_value {
            pattern = Some(&a[i + 1]);
        } else if eq_ic(&a[i], "type") && has_value {
            type_filter = Some(String::from_utf8_lossy(&a[i + 1]).to_ascii_lowercase());
        } else {
            return Err(syntax_error());
        }
        i += 2;
    }
    let (next, found) = {
        let (next, keys) = ctx.server.db(ctx.db).scan(cursor, count);
        (next, keys.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
    };
    let mut out = Vec::new();
    for key in found {
        if pattern.is_some_and(|p| !glob_match(p, &key, false)) {
            continue;
        }
        if ctx.server.expire_if_needed(ctx.db, &key, ctx.now) {
            continue;
        }
        if let Some(t) = &type_filter {
            let matches = ctx.server.db(ctx.db).get(&key).is_some_and(|e| e.value.type_name() == t);
            if !matches {
                continue;
            }
        }
        out.push(Frame::Bulk(key));
    }
    Ok(Frame::Array(vec![Frame::bulk(next.to_string()), Frame::Array(out)]))
}

pub fn dbsize(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    Ok(int_reply(ctx.server.db(ctx.db).len()))
}

pub fn rename(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let (src, dst) = (&a[1], &a[2]);
    if ctx.server.lookup_write(ctx.db, src, ctx.now).is_none() {
        return Err(Frame::err("ERR no such key"));
    }
    if src == dst {
        return Ok(Frame::ok());
    }
    ctx.server.expire_if_needed(ctx.db, dst, ctx.now);
    let db = ctx.server.db_mut(ctx.db);
    let Some(entry) = db.remove(src) else { return Err(Frame::err("ERR no such key")) };
    db.remove(dst);
    db.set(dst, entry.value, false);
    if let Some(at) = entry.expire_at {
        db.set_expire(dst, at);
    }
    ctx.propagate_as_is(a);
    Ok(Frame::ok())
}

/// FLUSHDB / FLUSHALL take an optional ASYNC or SYNC.
fn flush_mode_ok(a: &[Vec<u8>]) -> Result<(), Frame> {
    match a.len() {
        1 => Ok(()),
        2 if eq_ic(&a[1], "async") || eq_ic(&a[1], "sync") => Ok(()),
        _ => Err(syntax_error()),
    }
}

pub fn flushdb(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    flush_mode_ok(a)?;
    ctx.server.db_mut(ctx.db).clear();
    ctx.propagate_as_is(a);
    Ok(Frame::ok())
}

pub fn flushall(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    flush_mode_ok(a)?;
    for db in &mut ctx.server.dbs {
        db.clear();
    }
    ctx.propagate_as_is(a);
    Ok(Frame::ok())
}

pub fn randomkey(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    // Like dbRandomKey: retry past expired keys (deleting them), bounded.
    for _ in 0..100 {
        let len = ctx.server.db(ctx.db).len();
        if len == 0 {
            return Ok(Frame::Null);
        }
        let n = ctx.server.rng.below(len);
        let Some(key) = ctx.server.db(ctx.db).nth_key(n).map(<[u8]>::to_vec) else { return Ok(Frame::Null) };
        if !ctx.server.expire_if_needed(ctx.db, &key, ctx.now) {
            return Ok(Frame::Bulk(key));
        }
    }
    Ok(Frame::Null)
}

//! String commands (t_string.c).

use super::{argv, eq_ic, int_arg, int_reply, not_float, not_integer, syntax_error, wrongtype, CmdResult, Ctx};
use crate::keyspace::Value;
use crate::ldouble::LongDouble;
use crate::resp::Frame;

/// The string at `key` for reading: `Ok(None)` if missing, WRONGTYPE for other types.
pub(super) fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Frame> {
    match ctx.server.lookup_read(ctx.db, key, ctx.now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Str(s) => Ok(Some(s.to_vec())),
            _ => Err(wrongtype()),
        },
    }
}

/// Same, with a write lookup (no hit/miss stats), for read-modify-write commands.
fn write_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, Frame> {
    match ctx.server.lookup_write(ctx.db, key, ctx.now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Str(s) => Ok(Some(s.to_vec())),
            _ => Err(wrongtype()),
        },
    }
}

fn bulk_or_nil(v: Option<Vec<u8>>) -> Frame {
    v.map(Frame::Bulk).unwrap_or(Frame::Null)
}

pub fn get(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(bulk_or_nil(read_string(ctx, &a[1])?))
}

/// The options of SET and GETEX (`parseExtendedStringArgumentsOrReply`).
#[derive(Default, Debug)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<Expire<'a>>,
}

#[derive(Clone, Copy, Debug)]
struct Expire<'a> {
    value: &'a [u8],
    seconds: bool,
    absolute: bool,
}

fn parse_opts(args: &[Vec<u8>], is_set: bool) -> Result<StrOpts<'_>, Frame> {
    let mut o = StrOpts::default();
    let mut j = 0;
    while j < args.len() {
        let opt = &args[j][..];
        let has_expire = o.expire.is_some();
        let kind = expire_kind(opt);
        if eq_ic(opt, "nx") && !o.xx && is_set {
            o.nx = true;
        } else if eq_ic(opt, "xx") && !o.nx && is_set {
            o.xx = true;
        } else if eq_ic(opt, "get") && is_set {
            o.get = true;
        } else if eq_ic(opt, "keepttl") && !o.persist && !has_expire && is_set {
            o.keepttl = true;
        } else if eq_ic(opt, "persist") && !is_set && !has_expire && !o.keepttl {
            o.persist = true;
        } else if let (Some((seconds, absolute)), Some(v), false) =
            (kind, args.get(j + 1), o.keepttl || o.persist || has_expire)
        {
            o.expire = Some(Expire { value: v, seconds, absolute });
            j += 1;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    Ok(o)
}

/// (in seconds, absolute) for EX / PX / EXAT / PXAT.
fn expire_kind(opt: &[u8]) -> Option<(bool, bool)> {
    [("ex", (true, false)), ("px", (false, false)), ("exat", (true, true)), ("pxat", (false, true))]
        .into_iter()
        .find(|(w, _)| eq_ic(opt, w))
        .map(|(_, k)| k)
}

fn invalid_expire(cmd: &str) -> Frame {
    Frame::err(format!("ERR invalid expire time in '{cmd}' command"))
}

/// `getExpireMillisecondsOrReply`: the absolute expire time in milliseconds.
fn expire_ms(ctx: &Ctx, e: Expire, cmd: &str) -> Result<i64, Frame> {
    let mut ms = int_arg(e.value)?;
    if ms <= 0 || (e.seconds && ms > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    if e.seconds {
        ms *= 1000;
    }
    if !e.absolute {
        ms = ms.checked_add(ctx.now.as_u64() as i64).ok_or_else(|| invalid_expire(cmd))?;
    }
    Ok(ms)
}

/// `setGenericCommand`. `as_is` is what the stream carries when no expire is involved.
#[allow(clippy::too_many_arguments)]
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: &[u8],
    o: &StrOpts,
    cmd: &str,
    ok: Frame,
    abort: Frame,
    as_is: &[Vec<u8>],
) -> CmdResult {
    let when = match o.expire {
        Some(e) => Some(expire_ms(ctx, e, cmd)?),
        None => None,
    };
    // The common case, a plain SET over a string with no TTL (so never expired): one lookup
    // does what lookup_write + set would (touch, overwrite), with the same stream.
    if when.is_none() && !o.get && !o.nx && !o.xx && !o.keepttl {
        let now_ms = ctx.now.as_u64();
        if ctx.server.db_mut(ctx.db).overwrite_persistent_string(key, val, now_ms) {
            ctx.propagate_as_is(as_is);
            return Ok(ok);
        }
    }
    let old = if o.get { Some(bulk_or_nil(read_string(ctx, key)?)) } else { None };
    let found = ctx.server.lookup_write(ctx.db, key, ctx.now).is_some();
    if (o.nx && found) || (o.xx && !found) {
        return Ok(old.unwrap_or(abort));
    }
    let keep_ttl = o.keepttl || when.is_some();
    let db = ctx.server.db_mut(ctx.db);
    db.set(key, Value::Str(val.into()), keep_ttl);
    if let Some(at) = when {
        db.set_expire(key, at.max(0) as u64);
        // Relative and absolute expires alike travel as an absolute PXAT.
        ctx.propagate(argv([b"SET", key, val, b"PXAT", at.to_string().as_bytes()]));
    } else {
        ctx.propagate_as_is(as_is);
    }
    Ok(old.unwrap_or(ok))
}

pub fn set(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let o = parse_opts(&a[3..], true)?;
    // The stream never carries GET: replicas have nobody to answer.
    if !o.get {
        return set_generic(ctx, &a[1], &a[2], &o, "set", Frame::ok(), Frame::Null, a);
    }
    let as_is: Vec<Vec<u8>> = a.iter().enumerate().filter(|(i, x)| *i < 3 || !eq_ic(x, "get")).map(|(_, x)| x.clone()).collect();
    set_generic(ctx, &a[1], &a[2], &o, "set", Frame::ok(), Frame::Null, &as_is)
}

pub fn setnx(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let o = StrOpts { nx: true, ..Default::default() };
    set_generic(ctx, &a[1], &a[2], &o, "setnx", Frame::Integer(1), Frame::Integer(0), a)
}

pub fn setex(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let o = StrOpts { expire: Some(Expire { value: &a[2], seconds: true, absolute: false }), ..Default::default() };
    set_generic(ctx, &a[1], &a[3], &o, "setex", Frame::ok(), Frame::Null, a)
}

pub fn psetex(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let o = StrOpts { expire: Some(Expire { value: &a[2], seconds: false, absolute: false }), ..Default::default() };
    set_generic(ctx, &a[1], &a[3], &o, "psetex", Frame::ok(), Frame::Null, a)
}

pub fn getset(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let old = read_string(ctx, &a[1])?;
    ctx.server.db_mut(ctx.db).set(&a[1], Value::Str(a[2][..].into()), false);
    ctx.propagate(argv([b"SET", &a[1], &a[2]]));
    Ok(bulk_or_nil(old))
}

pub fn getdel(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let old = read_string(ctx, &a[1])?;
    if old.is_some() {
        ctx.server.db_mut(ctx.db).remove(&a[1]);
        ctx.propagate(argv([b"DEL", &a[1]]));
    }
    Ok(bulk_or_nil(old))
}

pub fn getex(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let o = parse_opts(&a[2..], false)?;
    let when = match o.expire {
        Some(e) => Some(expire_ms(ctx, e, "getex")?),
        None => None,
    };
    let Some(value) = read_string(ctx, &a[1])? else { return Ok(Frame::Null) };
    let absolute = o.expire.map(|e| e.absolute).unwrap_or(false);
    // `checkAlreadyExpired` is never true on a replica.
    let replica = ctx.server.repl.is_replica;
    let db = ctx.server.db_mut(ctx.db);
    match when {
        Some(at) if absolute && at <= ctx.now.as_u64() as i64 && !replica => {
            db.remove(&a[1]);
            ctx.propagate(argv([b"DEL", &a[1]]));
        }
        Some(at) => {
            db.set_expire(&a[1], at as u64);
            ctx.propagate(argv([b"PEXPIREAT", &a[1], at.to_string().as_bytes()]));
        }
        None if o.persist => {
            if db.persist(&a[1]) {
                ctx.propagate(argv([b"PERSIST", &a[1]]));
            }
        }
        None => {}
    }
    Ok(Frame::Bulk(value))
}

pub fn mset(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() % 2 == 0 {
        return Err(super::arity_error("mset"));
    }
    for pair in a[1..].chunks(2) {
        ctx.server.db_mut(ctx.db).set(&pair[0], Value::Str(pair[1][..].into()), false);
    }
    ctx.propagate_as_is(a);
    Ok(Frame::ok())
}

pub fn mget(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut out = Vec::with_capacity(a.len() - 1);
    for key in &a[1..] {
        out.push(match ctx.server.lookup_read(ctx.db, key, ctx.now) {
            Some(crate::keyspace::Entry { value: Value::Str(s), .. }) => Frame::Bulk(s.to_vec()),
            _ => Frame::Null,
        });
    }
    Ok(Frame::Array(out))
}

/// `incrDecrCommand`: the new value keeps the key's TTL.
fn incr_by(ctx: &mut Ctx, a: &[Vec<u8>], by: i64) -> CmdResult {
    let key = &a[1];
    let current = match write_string(ctx, key)? {
        None => 0,
        Some(s) => crate::resp::string2ll(&s).ok_or_else(not_integer)?,
    };
    let new = current
        .checked_add(by)
        .ok_or_else(|| Frame::err("ERR increment or decrement would overflow"))?;
    ctx.server.db_mut(ctx.db).set(key, Value::Str(new.to_string().into_bytes().into()), true);
    ctx.propagate_as_is(a);
    Ok(Frame::Integer(new))
}

pub fn incr(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    incr_by(ctx, a, 1)
}

pub fn decr(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    incr_by(ctx, a, -1)
}

pub fn incrby(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let by = int_arg(&a[2])?;
    incr_by(ctx, a, by)
}

pub fn decrby(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let by = int_arg(&a[2])?;
    if by == i64::MIN {
        return Err(Frame::err("ERR decrement would overflow"));
    }
    incr_by(ctx, a, -by)
}

pub fn incrbyfloat(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let current = write_string(ctx, &a[1])?;
    let value = match &current {
        None => LongDouble::zero(),
        Some(s) => LongDouble::parse(s).ok_or_else(not_float)?,
    };
    let incr = LongDouble::parse(&a[2]).ok_or_else(not_float)?;
    let sum = value.add(incr);
    if !sum.is_finite() {
        return Err(Frame::err("ERR increment would produce NaN or Infinity"));
    }
    let text = sum.to_human().into_bytes();
    ctx.server.db_mut(ctx.db).set(&a[1], Value::Str(text[..].into()), true);
    // Replicas must not redo float arithmetic: they get the result.
    ctx.propagate(argv([b"SET", &a[1], &text, b"KEEPTTL"]));
    Ok(Frame::Bulk(text))
}

pub fn append(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut value = write_string(ctx, &a[1])?.unwrap_or_default();
    let max = ctx.server.config.int("proto-max-bulk-len").max(0) as usize;
    if value.len() + a[2].len() > max {
        return Err(Frame::err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
    }
    value.extend_from_slice(&a[2]);
    let len = value.len();
    ctx.server.db_mut(ctx.db).set(&a[1], Value::Str(value.into()), true);
    ctx.propagate_as_is(a);
    Ok(int_reply(len))
}

pub fn strlen(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(int_reply(read_string(ctx, &a[1])?.map(|s| s.len()).unwrap_or(0)))
}


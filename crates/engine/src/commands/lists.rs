//! List commands (t_list.c).

use std::collections::VecDeque;

use super::{int_arg, int_reply, positive_count, wrongtype, CmdResult, Ctx};
use crate::keyspace::Value;
use crate::small_bytes::SmallBytes;
use crate::resp::Frame;

fn push(ctx: &mut Ctx, a: &[Vec<u8>], left: bool) -> CmdResult {
    let len = match ctx.server.lookup_write(ctx.db, &a[1], ctx.now) {
        Some(e) => match &mut e.value {
            Value::List(l) => {
                for v in &a[2..] {
                    let v = SmallBytes::new(v);
                    if left { l.push_front(v) } else { l.push_back(v) }
                }
                l.len()
            }
            _ => return Err(wrongtype()),
        },
        None => {
            let mut l = VecDeque::new();
            for v in &a[2..] {
                let v = SmallBytes::new(v);
                if left { l.push_front(v) } else { l.push_back(v) }
            }
            let len = l.len();
            ctx.server.db_mut(ctx.db).set(&a[1], Value::List(Box::new(l)), false);
            len
        }
    };
    ctx.propagate_as_is(a);
    Ok(int_reply(len))
}

pub fn lpush(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    push(ctx, a, true)
}

pub fn rpush(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    push(ctx, a, false)
}

/// `popGenericCommand`: one element, or `count` elements as an array.
fn pop(ctx: &mut Ctx, a: &[Vec<u8>], left: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(super::arity_error(if left { "lpop" } else { "rpop" }));
    }
    let count = match a.get(2) {
        Some(c) => Some(positive_count(c)?),
        None => None,
    };
    let key = &a[1];
    let Some(entry) = ctx.server.lookup_write(ctx.db, key, ctx.now) else {
        return Ok(if count.is_some() { Frame::NullArray } else { Frame::Null });
    };
    let Value::List(list) = &mut entry.value else { return Err(wrongtype()) };
    let take = |l: &mut VecDeque<SmallBytes>| if left { l.pop_front() } else { l.pop_back() }.map(|v| v.to_vec());
    let reply = match count {
        None => take(list).map(Frame::Bulk).unwrap_or(Frame::Null),
        Some(n) => {
            let mut out = Vec::new();
            while (out.len() as i64) < n {
                match take(list) {
                    Some(v) => out.push(Frame::Bulk(v)),
                    None => break,
                }
            }
            Frame::Array(out)
        }
    };
    if list.is_empty() {
        ctx.server.db_mut(ctx.db).remove(key);
    }
    let popped = match &reply {
        Frame::Array(items) => !items.is_empty(),
        other => *other != Frame::Null,
    };
    if popped {
        ctx.propagate_as_is(a);
    }
    Ok(reply)
}

pub fn lpop(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    pop(ctx, a, true)
}

pub fn rpop(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    pop(ctx, a, false)
}

fn read_list<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c VecDeque<SmallBytes>>, Frame> {
    match ctx.server.lookup_read(ctx.db, key, ctx.now) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(wrongtype()),
        },
    }
}

pub fn lrange(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let (mut start, mut end) = (int_arg(&a[2])?, int_arg(&a[3])?);
    let Some(list) = read_list(ctx, &a[1])? else { return Ok(Frame::Array(vec![])) };
    let len = list.len() as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    if start > end || start >= len {
        return Ok(Frame::Array(vec![]));
    }
    end = end.min(len - 1);
    Ok(Frame::Array(list.range(start as usize..=end as usize).map(|v| Frame::Bulk(v.to_vec())).collect()))
}

pub fn llen(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(int_reply(read_list(ctx, &a[1])?.map(|l| l.len()).unwrap_or(0)))
}

pub fn lindex(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut index = int_arg(&a[2])?;
    let Some(list) = read_list(ctx, &a[1])? else { return Ok(Frame::Null) };
    if index < 0 {
        index += list.len() as i64;
    }
    if index < 0 {
        return Ok(Frame::Null);
    }
    Ok(list.get(index as usize).map(|v| Frame::Bulk(v.to_vec())).unwrap_or(Frame::Null))
}

//! AUTH and the CLIENT container.

use super::{eq_ic, int_arg, syntax_error, CmdResult, Ctx};
use crate::resp::Frame;

pub fn auth(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() > 3 {
        return Err(syntax_error());
    }
    let requirepass = ctx.server.config.text("requirepass").as_bytes().to_vec();
    let (user, pass) = if a.len() == 2 {
        if requirepass.is_empty() {
            return Err(Frame::err(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ));
        }
        (&b"default"[..], &a[1][..])
    } else {
        (&a[1][..], &a[2][..])
    };
    // Only the default user exists; with no password it accepts any password.
    let ok = user == b"default" && (requirepass.is_empty() || pass == requirepass.as_slice());
    if !ok {
        return Err(Frame::err("WRONGPASS invalid username-password pair or user is disabled."));
    }
    if let Some(c) = ctx.client() {
        c.authenticated = true;
    }
    Ok(Frame::ok())
}

pub fn client_setname(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let name = &a[2];
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Frame::err("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    if let Some(c) = ctx.client() {
        c.name = name.clone();
    }
    Ok(Frame::ok())
}

pub fn client_getname(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    Ok(match ctx.client() {
        Some(c) if !c.name.is_empty() => Frame::Bulk(c.name.clone()),
        _ => Frame::Null,
    })
}

pub fn client_id(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    Ok(Frame::Integer(ctx.me as i64))
}

pub fn client_info(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    let now = ctx.now;
    let line = ctx.client().map(|c| c.list_line(now)).unwrap_or_default();
    Ok(Frame::Bulk(format!("{line}\n").into_bytes()))
}

pub fn client_list(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < a.len() {
        if eq_ic(&a[i], "type") && i + 1 < a.len() {
            let t = &a[i + 1];
            if !["normal", "master", "replica", "slave", "pubsub"].iter().any(|n| eq_ic(t, n)) {
                return Err(Frame::err(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(t))));
            }
            let want_replicas = eq_ic(t, "replica") || eq_ic(t, "slave");
            let wanted: Vec<u64> = ctx
                .clients
                .iter()
                .filter(|(_, c)| {
                    if want_replicas {
                        c.replica.is_some()
                    } else if eq_ic(t, "master") {
                        c.is_master
                    } else {
                        eq_ic(t, "normal") && c.replica.is_none() && !c.is_master
                    }
                })
                .map(|(id, _)| *id)
                .collect();
            ids = Some(wanted);
            i += 2;
        } else if eq_ic(&a[i], "id") && i + 1 < a.len() {
            let mut wanted = Vec::new();
            for arg in &a[i + 1..] {
                match int_arg(arg) {
                    Ok(n) if n > 0 => wanted.push(n as u64),
                    _ => return Err(Frame::err("ERR Invalid client ID")),
                }
            }
            ids = Some(wanted);
            i = a.len();
        } else {
            return Err(syntax_error());
        }
    }
    let now = ctx.now;
    let mut out = String::new();
    for (id, c) in ctx.clients.iter() {
        if ids.as_ref().is_some_and(|w| !w.contains(id)) {
            continue;
        }
        out.push_str(&c.list_line(now));
        out.push('\n');
    }
    Ok(Frame::Bulk(out.into_bytes()))
}

pub fn client_kill(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut id: Option<u64> = None;
    let mut kind: Option<Vec<u8>> = None;
    let mut skipme = true;
    if a.len() == 3 {
        addr = Some(&a[2]);
        skipme = false;
    } else {
        let mut i = 2;
        while i < a.len() {
            let Some(value) = a.get(i + 1) else { return Err(syntax_error()) };
            if eq_ic(&a[i], "id") {
                match int_arg(value) {
                    Ok(n) if n >= 1 => id = Some(n as u64),
                    Ok(_) => return Err(Frame::err("ERR client-id should be greater than 0")),
                    Err(_) => return Err(Frame::err("ERR client-id should be greater than 0")),
                }
            } else if eq_ic(&a[i], "type") {
                if !["normal", "master", "replica", "slave", "pubsub"].iter().any(|n| eq_ic(value, n)) {
                    return Err(Frame::err(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(value))));
                }
                kind = Some(value.to_ascii_lowercase());
            } else if eq_ic(&a[i], "addr") {
                addr = Some(value);
            } else if eq_ic(&a[i], "laddr") {
                laddr = Some(value);
            } else if eq_ic(&a[i], "user") {
                if !eq_ic(value, "default") {
                    return Err(Frame::err(format!("ERR No such user '{}'", String::from_utf8_lossy(value))));
                }
            } else if eq_ic(&a[i], "skipme") {
                if eq_ic(value, "yes") {
                    skipme = true;
                } else if eq_ic(value, "no") {
                    skipme = false;
                } else {
                    return Err(syntax_error());
                }
            } else {
                return Err(syntax_error());
            }
            i += 2;
        }
    }
    let me = ctx.me;
    let mut killed = 0;
    for (cid, c) in ctx.clients.iter_mut() {
        if *cid == me && skipme {
            continue;
        }
        let matches = addr.is_none_or(|x| x == c.addr.as_bytes())
            && laddr.is_none_or(|x| x == c.laddr.as_bytes())
            && id.is_none_or(|x| x == *cid)
            && kind.as_deref().is_none_or(|k| match k {
                b"normal" => c.replica.is_none() && !c.is_master,
                b"replica" | b"slave" => c.replica.is_some(),
                b"master" => c.is_master,
                _ => false,
            });
        if matches {
            killed += 1;
            c.close_after_reply = true;
            if *cid != me {
                // Killed clients get nothing more: their pending replies are dropped.
                c.out.clear();
                c.parser.clear();
            }
        }
    }
    if a.len() == 3 {
        if killed == 0 {
            return Err(Frame::err("ERR No such client"));
        }
        return Ok(Frame::ok());
    }
    Ok(Frame::Integer(killed))
}

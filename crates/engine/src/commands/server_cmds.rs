//! Server commands: PING ECHO TIME SELECT INFO DEBUG CONFIG COMMAND SHUTDOWN.

use super::{eq_ic, int_arg, syntax_error, CmdResult, Ctx, Spec};
use crate::resp::Frame;
use crate::server::ShutdownMode;

pub fn ping(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    match a.len() {
        1 => Ok(Frame::Simple("PONG".into())),
        2 => Ok(Frame::Bulk(a[1].clone())),
        _ => Err(super::arity_error("ping")),
    }
}

pub fn echo(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Ok(Frame::Bulk(a[1].clone()))
}

pub fn time(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    let ms = ctx.now.as_u64();
    Ok(Frame::bulks([(ms / 1000).to_string(), ((ms % 1000) * 1000).to_string()]))
}

pub fn select(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let id = int_arg(&a[1])?;
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        // getIntFromObjectOrReply's text, "must between" as redis-server spells it.
        return Err(Frame::err("ERR value is out of range, value must between -2147483648 and 2147483647"));
    }
    if id < 0 || id as usize >= ctx.server.dbs.len() {
        return Err(Frame::err("ERR DB index is out of range"));
    }
    ctx.db = id as usize;
    Ok(Frame::ok())
}

pub fn info(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let sections: Vec<String> = a[1..].iter().map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).collect();
    Ok(Frame::Bulk(crate::info::render(ctx.server, ctx.now, &sections).into_bytes()))
}

pub fn debug(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let sub = &a[1];
    if eq_ic(sub, "digest") && a.len() == 2 {
        return Ok(Frame::Simple(crate::digest::hex(&crate::digest::dataset(ctx.server)).into()));
    }
    if eq_ic(sub, "digest-value") {
        let mut out = Vec::new();
        for key in &a[2..] {
            let d = ctx.server.db(ctx.db).get(key).map(crate::digest::value).unwrap_or([0; 20]);
            out.push(Frame::Simple(crate::digest::hex(&d).into()));
        }
        return Ok(Frame::Array(out));
    }
    if eq_ic(sub, "sleep") && a.len() == 3 {
        let secs = strtod_prefix(&a[2]);
        let ms = if secs.is_finite() && secs > 0.0 { (secs * 1000.0) as u64 } else { 0 };
        ctx.server.sleep_until = Some(ctx.now.saturating_add(ms));
        return Ok(Frame::ok());
    }
    if eq_ic(sub, "set-active-expire") && a.len() == 3 {
        ctx.server.active_expire = atoi(&a[2]) != 0;
        return Ok(Frame::ok());
    }
    if eq_ic(sub, "help") {
        return Ok(Frame::Array(
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed (otherwise the Redis behavior). Setting it to 1 reenables back the default.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Frame::Simple(l.to_string().into()))
            .collect(),
        ));
    }
    Err(Frame::err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    )))
}

/// C's `strtod` on a prefix: "0.5abc" is 0.5, garbage is 0 (only a short prefix is looked at).
fn strtod_prefix(arg: &[u8]) -> f64 {
    let start = arg.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(arg.len());
    let candidate: Vec<u8> = arg[start..]
        .iter()
        .take(64)
        .take_while(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        .copied()
        .collect();
    let text = String::from_utf8_lossy(&candidate);
    (1..=text.len()).rev().find_map(|end| text[..end].parse::<f64>().ok()).unwrap_or(0.0)
}

/// C's `atoi`: leading digits with an optional sign, 0 otherwise.
fn atoi(arg: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(arg);
    let t = text.trim_start();
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let n: String = digits.chars().take_while(|c| c.is_ascii_digit()).take(18).collect();
    sign * n.parse::<i64>().unwrap_or(0)
}

pub fn config_get(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let patterns: Vec<&[u8]> = a[2..].iter().map(|p| p.as_slice()).collect();
    let mut out = Vec::new();
    for (name, value) in ctx.server.config.get_matching(&patterns) {
        out.push(Frame::bulk(name));
        out.push(Frame::bulk(value));
    }
    Ok(Frame::Array(out))
}

pub fn config_set(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() % 2 == 1 {
        return Err(syntax_error());
    }
    // All or nothing, as redis-server: validate every pair on a copy first.
    let mut next = ctx.server.config.clone();
    let mut seen = Vec::new();
    for pair in a[2..].chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).into_owned();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        if let Some(c) = crate::config::Config::canonical(&name) {
            if seen.contains(&c) {
                return Err(Frame::err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                )));
            }
            seen.push(c);
        }
        next.set(&name, &value).map_err(|e| Frame::err(format!("ERR {}", e.config_set_message())))?;
    }
    ctx.server.config = next;
    let size = ctx.server.config.int("repl-backlog-size").max(0) as usize;
    if let Some(b) = ctx.server.repl.backlog.as_mut() {
        b.resize(size, None);
    }
    Ok(Frame::ok())
}

pub fn config_resetstat(ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    ctx.server.stats = Default::default();
    Ok(Frame::ok())
}

pub fn command_count(_ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    Ok(Frame::Integer(super::count() as i64))
}

pub fn command_list(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() > 2 {
        return Err(syntax_error());
    }
    Ok(Frame::bulks(super::table().iter().map(|s| s.name)))
}

/// The engine carries no command docs; an empty reply keeps redis-cli's hint lookup happy.
pub fn command_docs(_ctx: &mut Ctx, _a: &[Vec<u8>]) -> CmdResult {
    Ok(Frame::Array(vec![]))
}

pub fn command_info(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() == 2 {
        return Ok(Frame::Array(super::table().iter().map(command_entry).collect()));
    }
    let out = a[2..]
        .iter()
        .map(|name| match super::table().iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name)) {
            Some(spec) => command_entry(spec),
            None => Frame::Null,
        })
        .collect();
    Ok(Frame::Array(out))
}

pub fn command_all(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    if a.len() != 1 {
        return Err(Frame::err(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(&a[1])
        )));
    }
    Ok(Frame::Array(super::table().iter().map(command_entry).collect()))
}

/// redis-server 7.0.15's own COMMAND INFO entry for this command.
fn command_entry(spec: &Spec) -> Frame {
    super::command_info::ENTRIES
        .binary_search_by(|(n, _)| n.cmp(&spec.name))
        .ok()
        .and_then(|i| Frame::decode(super::command_info::ENTRIES[i].1).ok().flatten())
        .map(|(f, _)| f)
        .unwrap_or_else(|| Frame::Array(vec![Frame::bulk(spec.name), Frame::Integer(spec.arity as i64)]))
}

/// MULTI, EXEC and DISCARD are intercepted by the node before dispatch; this never runs.
pub fn handled_by_node(_ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    Err(Frame::err(format!("ERR {} is handled by the node", String::from_utf8_lossy(&a[0]))))
}

pub fn shutdown(ctx: &mut Ctx, a: &[Vec<u8>]) -> CmdResult {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for arg in &a[1..] {
        if eq_ic(arg, "nosave") {
            nosave = true;
        } else if eq_ic(arg, "save") {
            save = true;
        } else if eq_ic(arg, "now") || eq_ic(arg, "force") {
            other = true;
        } else if eq_ic(arg, "abort") {
            abort = true;
        } else {
            return Err(syntax_error());
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(syntax_error());
    }
    if abort {
        return Err(Frame::err("ERR No shutdown in progress."));
    }
    ctx.server.shutdown = Some(if save {
        ShutdownMode::Save
    } else if nosave {
        ShutdownMode::NoSave
    } else {
        ShutdownMode::Default
    });
    Ok(Frame::ok())
}

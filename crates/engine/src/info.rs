//! INFO: the sections the engine keeps, in redis-server 7.0's order and field order.

use std::fmt::Write;

use crate::server::Server;
use crate::time::Millis;

/// Sections in the order redis-server prints them, and whether plain INFO includes them.
const ORDER: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// What INFO reads from the node around the server, computed right before INFO runs.
pub struct NodeParts<'a> {
    pub replication_head: &'a [String],
    pub persistence_lines: &'a [String],
    pub failover_state: &'static str,
    pub used_memory: u64,
}

/// The INFO text for the requested sections (none or `default`: the default ones; `all` or
/// `everything`: every one), with the node's parts as last stored in the server.
pub fn render(server: &Server, now: Millis, requested: &[String]) -> String {
    let parts = NodeParts {
        replication_head: &server.replication_head,
        persistence_lines: &server.persistence_lines,
        failover_state: server.failover_state,
        used_memory: server.used_memory,
    };
    render_with(server, now, requested, &parts)
}

/// The INFO text with the node's parts given.
pub fn render_with(server: &Server, now: Millis, requested: &[String], parts: &NodeParts) -> String {
    let all = requested.iter().any(|s| matches!(s.as_str(), "all" | "everything"));
    let default = requested.is_empty() || requested.iter().any(|s| s == "default");
    let mut out = String::new();
    for (name, in_default) in ORDER {
        let wanted = all || (default && *in_default) || requested.iter().any(|r| r == name);
        if !wanted {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let lines = match *name {
            "server" => server_section(server, now),
            "clients" => clients_section(server),
            "memory" => memory_section(server, parts.used_memory),
            "cpu" => {
                let mut o = String::from("# CPU\r\n");
                for f in ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children", "used_cpu_sys_main_thread", "used_cpu_user_main_thread"] {
                    push(&mut o, f, "0.000000");
                }
                o
            }
            "modules" => String::from("# Modules\r\n"),
            "commandstats" => {
                let mut o = String::from("# Commandstats\r\n");
                for (name, st) in server.stats.commands.iter().filter(|(_, s)| s.calls + s.rejected > 0) {
                    let _ = write!(
                        o,
                        "cmdstat_{name}:calls={},usec=0,usec_per_call=0.00,rejected_calls={},failed_calls={}\r\n",
                        st.calls, st.rejected, st.failed
                    );
                }
                o
            }
            "errorstats" => {
                let mut o = String::from("# Errorstats\r\n");
                for (prefix, n) in &server.stats.errors {
                    let _ = write!(o, "errorstat_{prefix}:count={n}\r\n");
                }
                o
            }
            "latencystats" => {
                // The engine has no wall clock: every command takes no measurable time.
                let mut o = String::from("# Latencystats\r\n");
                for (name, _) in server.stats.commands.iter().filter(|(_, s)| s.calls > 0) {
                    let _ = write!(o, "latency_percentiles_usec_{name}:p50=0.001,p99=0.001,p99.9=0.001\r\n");
                }
                o
            }
            "cluster" => String::from("# Cluster\r\ncluster_enabled:0\r\n"),
            "persistence" => {
                let mut o = String::from("# Persistence\r\n");
                for l in parts.persistence_lines {
                    o.push_str(l);
                    o.push_str("\r\n");
                }
                o
            }
            "stats" => stats_section(server),
            "replication" => replication_section(server, parts),
            _ => keyspace_section(server, now),
        };
        out.push_str(&lines);
    }
    out
}

fn push(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

fn server_section(s: &Server, now: Millis) -> String {
    let mut o = String::from("# Server\r\n");
    let uptime = now.saturating_sub(s.started) / 1000;
    push(&mut o, "redis_version", crate::REDIS_VERSION);
    push(&mut o, "redis_git_sha1", "00000000");
    push(&mut o, "redis_git_dirty", 0);
    push(&mut o, "redis_build_id", "replscope");
    push(&mut o, "redis_mode", "standalone");
    push(&mut o, "os", "ReplScope sans-IO engine");
    push(&mut o, "arch_bits", 64);
    push(&mut o, "monotonic_clock", "caller-supplied");
    push(&mut o, "multiplexing_api", "sans-io");
    push(&mut o, "atomicvar_api", "none");
    push(&mut o, "gcc_version", "0.0.0");
    push(&mut o, "process_id", s.process_id);
    push(&mut o, "process_supervised", "no");
    push(&mut o, "run_id", &s.run_id);
    push(&mut o, "tcp_port", s.config.int("port"));
    push(&mut o, "server_time_usec", now.as_u64() * 1000);
    push(&mut o, "uptime_in_seconds", uptime);
    push(&mut o, "uptime_in_days", uptime / 86400);
    push(&mut o, "hz", s.config.int("hz"));
    push(&mut o, "configured_hz", s.config.int("hz"));
    push(&mut o, "lru_clock", (now.as_u64() / 1000) & ((1 << 24) - 1));
    push(&mut o, "executable", &s.executable);
    push(&mut o, "config_file", "");
    push(&mut o, "io_threads_active", 0);
    o
}

/// `bytesToHuman`.
fn human(n: u64) -> String {
    let units = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut d = n as f64 / 1024.0;
    for u in units {
        if d < 1024.0 {
            return format!("{d:.2}{u}");
        }
        d /= 1024.0;
    }
    format!("{:.2}P", d * 1024.0)
}

fn memory_section(s: &Server, used: u64) -> String {
    let mut o = String::from("# Memory\r\n");
    let startup = 876_192u64;
    let backlog = s.repl.backlog.as_ref().map(|b| b.histlen().max(0) as u64).unwrap_or(0);
    let maxmemory = s.config.int("maxmemory").max(0) as u64;
    push(&mut o, "used_memory", used);
    push(&mut o, "used_memory_human", human(used));
    push(&mut o, "used_memory_rss", used);
    push(&mut o, "used_memory_rss_human", human(used));
    push(&mut o, "used_memory_peak", used);
    push(&mut o, "used_memory_peak_human", human(used));
    push(&mut o, "used_memory_peak_perc", "100.00%");
    push(&mut o, "used_memory_overhead", startup + backlog);
    push(&mut o, "used_memory_startup", startup);
    let dataset = used.saturating_sub(startup + backlog);
    push(&mut o, "used_memory_dataset", dataset);
    let perc = if used > startup { dataset as f64 * 100.0 / (used - startup) as f64 } else { 0.0 };
    push(&mut o, "used_memory_dataset_perc", format!("{perc:.2}%"));
    for f in ["allocator_allocated", "allocator_active", "allocator_resident"] {
        push(&mut o, f, used);
    }
    push(&mut o, "total_system_memory", 0);
    push(&mut o, "total_system_memory_human", "0B");
    for (f, v) in [
        ("used_memory_lua", "31744"),
        ("used_memory_vm_eval", "31744"),
        ("used_memory_lua_human", "31.00K"),
        ("used_memory_scripts_eval", "0"),
        ("number_of_cached_scripts", "0"),
        ("number_of_functions", "0"),
        ("number_of_libraries", "0"),
        ("used_memory_vm_functions", "32768"),
        ("used_memory_vm_total", "64512"),
        ("used_memory_vm_total_human", "63.00K"),
        ("used_memory_functions", "184"),
        ("used_memory_scripts", "184"),
        ("used_memory_scripts_human", "184B"),
    ] {
        push(&mut o, f, v);
    }
    push(&mut o, "maxmemory", maxmemory);
    push(&mut o, "maxmemory_human", human(maxmemory));
    push(&mut o, "maxmemory_policy", s.config.text("maxmemory-policy"));
    for (f, v) in [
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", "0"),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", "0"),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", "0"),
        ("mem_fragmentation_ratio", "1.00"),
        ("mem_fragmentation_bytes", "0"),
        ("mem_not_counted_for_evict", "0"),
    ] {
        push(&mut o, f, v);
    }
    push(&mut o, "mem_replication_backlog", backlog);
    push(&mut o, "mem_total_replication_buffers", backlog);
    for f in ["mem_clients_slaves", "mem_clients_normal", "mem_cluster_links", "mem_aof_buffer"] {
        push(&mut o, f, 0);
    }
    push(&mut o, "mem_allocator", "rust-global");
    for f in ["active_defrag_running", "lazyfree_pending_objects", "lazyfreed_objects"] {
        push(&mut o, f, 0);
    }
    o
}

fn clients_section(s: &Server) -> String {
    let mut o = String::from("# Clients\r\n");
    push(&mut o, "connected_clients", s.connected_clients);
    push(&mut o, "cluster_connections", 0);
    push(&mut o, "maxclients", s.config.int("maxclients"));
    push(&mut o, "client_recent_max_input_buffer", 0);
    push(&mut o, "client_recent_max_output_buffer", 0);
    push(&mut o, "blocked_clients", 0);
    push(&mut o, "tracking_clients", 0);
    push(&mut o, "clients_in_timeout_table", 0);
    o
}

fn stats_section(s: &Server) -> String {
    let st = &s.stats;
    let mut o = String::from("# Stats\r\n");
    push(&mut o, "total_connections_received", st.total_connections_received);
    push(&mut o, "total_commands_processed", st.total_commands_processed);
    push(&mut o, "instantaneous_ops_per_sec", 0);
    push(&mut o, "total_net_input_bytes", st.total_net_input_bytes);
    push(&mut o, "total_net_output_bytes", st.total_net_output_bytes);
    push(&mut o, "total_net_repl_input_bytes", 0);
    push(&mut o, "total_net_repl_output_bytes", 0);
    push(&mut o, "instantaneous_input_kbps", "0.00");
    push(&mut o, "instantaneous_output_kbps", "0.00");
    push(&mut o, "instantaneous_input_repl_kbps", "0.00");
    push(&mut o, "instantaneous_output_repl_kbps", "0.00");
    push(&mut o, "rejected_connections", st.rejected_connections);
    push(&mut o, "sync_full", st.sync_full);
    push(&mut o, "sync_partial_ok", st.sync_partial_ok);
    push(&mut o, "sync_partial_err", st.sync_partial_err);
    push(&mut o, "expired_keys", st.expired_keys);
    push(&mut o, "expired_stale_perc", "0.00");
    push(&mut o, "expired_time_cap_reached_count", 0);
    push(&mut o, "expire_cycle_cpu_milliseconds", 0);
    push(&mut o, "evicted_keys", st.evicted_keys);
    for zero in [
        "evicted_clients",
        "total_eviction_exceeded_time",
        "current_eviction_exceeded_time",
    ] {
        push(&mut o, zero, 0);
    }
    push(&mut o, "keyspace_hits", st.keyspace_hits);
    push(&mut o, "keyspace_misses", st.keyspace_misses);
    for zero in [
        "pubsub_channels",
        "pubsub_patterns",
        "pubsubshard_channels",
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
        "unexpected_error_replies",
    ] {
        push(&mut o, zero, 0);
    }
    push(&mut o, "total_error_replies", st.total_error_replies);
    push(&mut o, "dump_payload_sanitizations", 0);
    push(&mut o, "total_reads_processed", st.total_reads_processed);
    push(&mut o, "total_writes_processed", st.total_writes_processed);
    for zero in [
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
    ] {
        push(&mut o, zero, 0);
    }
    o
}

fn replication_section(s: &Server, parts: &NodeParts) -> String {
    let mut o = String::from("# Replication\r\n");
    for line in parts.replication_head {
        o.push_str(line);
        o.push_str("\r\n");
    }
    push(&mut o, "master_failover_state", parts.failover_state);
    let r = &s.repl;
    push(&mut o, "master_replid", &r.replid);
    push(&mut o, "master_replid2", &r.replid2);
    push(&mut o, "master_repl_offset", r.offset);
    push(&mut o, "second_repl_offset", r.second_offset);
    push(&mut o, "repl_backlog_active", r.backlog.is_some() as u8);
    let size = r.backlog.as_ref().map(|b| b.size() as i64).unwrap_or(s.config.int("repl-backlog-size"));
    push(&mut o, "repl_backlog_size", size);
    let (first, histlen) = r.backlog.as_ref().map(|b| (b.first_byte_offset(), b.histlen())).unwrap_or((0, 0));
    push(&mut o, "repl_backlog_first_byte_offset", first);
    push(&mut o, "repl_backlog_histlen", histlen);
    o
}

fn keyspace_section(s: &Server, now: Millis) -> String {
    let mut o = String::from("# Keyspace\r\n");
    for (i, db) in s.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let (sum, n) = db.ttl_sum_and_count(now.as_u64());
        let avg = if n == 0 { 0 } else { sum / n };
        let _ = write!(o, "db{i}:keys={},expires={},avg_ttl={}\r\n", db.len(), db.expires_len(), avg);
    }
    o
}

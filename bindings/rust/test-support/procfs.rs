//! What the tests of both crates read from /proc to prove that nothing leaked. Included by path
//! (`#[path = ...] mod procfs;`) from scythe-sys/tests/abi.rs and scythe/tests/common/mod.rs.
#![allow(dead_code)]

/// The fields of /proc/PID/stat after the command's closing ')' (state, ppid, pgrp, session, ...): the command may
/// hold spaces and parentheses. None once the process is gone.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The pids of every process whose field `index` of [`stat_fields`] is `value`.
fn processes_where(index: usize, value: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let field = stat_fields(pid).and_then(|f| f.get(index).and_then(|s| s.parse::<i32>().ok()));
        if field == Some(value) {
            out.push(pid);
        }
    }
    out
}

/// The pids whose parent is this process (zombies included: they keep their /proc entry until reaped).
pub fn children_of_self() -> Vec<i32> {
    processes_where(1, std::process::id() as i32)
}

/// The pids of the processes in session `sid` (a job's session is its leader's pid).
pub fn session_members(sid: i32) -> Vec<i32> {
    processes_where(3, sid)
}

pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1 // the directory's own fd
}

pub fn fd_list() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|e| format!("{} -> {:?}", e.file_name().to_string_lossy(), std::fs::read_link(e.path()).ok()))
        .collect();
    v.sort();
    v
}

/// Whether a process with this pid exists at all (a zombie counts).
pub fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

//! Shared by the integration tests: one test at a time touches processes (the harness runs tests on parallel
//! threads, and a leak check counts this process's children and fds), and every such test ends with a leak check.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

static PROCESSES: Mutex<()> = Mutex::new(());

/// The pids whose parent is this process (zombies included: they keep their /proc entry until reaped).
pub fn children_of_self() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let ppid: i32 = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid == me {
            out.push(pid);
        }
    }
    out
}

/// The pids of the processes in session `sid` (a job's session is its leader's pid).
pub fn session_members(sid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        // state ppid pgrp session
        if rest.split_whitespace().nth(3).and_then(|s| s.parse::<i32>().ok()) == Some(sid) {
            out.push(pid);
        }
    }
    out
}

pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count() - 1 // the directory's own fd
}

/// Whether a process with this pid exists at all (a zombie counts).
pub fn exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Holds the process lock for a test and checks, at [`Leaks::check`], that the test left no child and no fd.
pub struct Leaks {
    fds: usize,
    _guard: MutexGuard<'static, ()>,
}

impl Leaks {
    pub fn start() -> Leaks {
        let guard = PROCESSES.lock().unwrap_or_else(|e| e.into_inner());
        static WARM: Once = Once::new();
        // Whatever the library or the harness sets up once per process (capability probes, ...), before counting.
        WARM.call_once(|| {
            let sup = scythe::Supervisor::new().unwrap();
            let _ = sup.run(&scythe::Spawn::new("/bin/true"));
            let _ = scythe::Token::shared().unwrap();
        });
        assert!(children_of_self().is_empty(), "children before the test: {:?}", children_of_self());
        Leaks { fds: fd_count(), _guard: guard }
    }

    /// No child of this process left (waits a little for ones being reaped), and as many fds as at the start.
    pub fn check(self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !children_of_self().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(children_of_self().is_empty(), "children left: {:?}", children_of_self());
        assert_eq!(fd_count(), self.fds, "fds leaked: {:?}", fd_list());
    }
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

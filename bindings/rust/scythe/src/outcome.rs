use crate::token::{Reason, Token};
use scythe_sys as sys;
use std::time::Duration;

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Exited on its own with status 0.
    Success,
    /// Exited on its own with a nonzero status.
    Failure { code: i32 },
    /// Killed by a signal Scythe did not send (a crash, the OOM killer, someone else's kill).
    Crashed { signal: i32, core_dumped: bool },
    /// Its wall-clock limit passed; Scythe killed its session.
    TimedOut,
    /// [`Job::cancel`](crate::Job::cancel) or its token, with that reason (never PREEMPTED: see `Preempted`).
    /// A job killed because its [`Supervisor`](crate::Supervisor) was dropped says
    /// [`SCYTHE_REASON_SHUTDOWN`](scythe_sys::SCYTHE_REASON_SHUTDOWN).
    Cancelled { reason: Reason },
    /// Its token was claimed by a racer: `winner` is the claimed index, if known.
    Preempted { winner: Option<u32> },
    /// It could not be started: the errno of scythe_spawn (ENOENT, EACCES, ENOTSUP for a cgroup level the machine
    /// lacks, ...). Only from [`Supervisor::run`](crate::Supervisor::run).
    SpawnFailed { errno: i32 },
    /// No progress probe reported progress for a whole stall window.
    Stalled,
    /// Its CPU time passed the limit.
    CpuLimit,
    /// It passed its memory limit.
    MemoryLimit,
    /// It tried to pass its process limit.
    ProcessLimit,
    /// The leader's exit status could not be collected (another party reaped it). Never a success.
    Lost,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }

    pub(crate) fn from_event(ev: &sys::scythe_event, token: Option<&Token>) -> Outcome {
        match ev.end {
            sys::SCYTHE_END_EXITED if ev.exit_code == 0 => Outcome::Success,
            sys::SCYTHE_END_EXITED => Outcome::Failure { code: ev.exit_code },
            sys::SCYTHE_END_SIGNALED => Outcome::Crashed { signal: ev.term_signal, core_dumped: ev.core_dumped != 0 },
            sys::SCYTHE_END_TIMEOUT => Outcome::TimedOut,
            sys::SCYTHE_END_CANCELLED => Outcome::cancelled(ev.cancel_reason, token),
            sys::SCYTHE_END_STALLED => Outcome::Stalled,
            sys::SCYTHE_END_CPU_LIMIT => Outcome::CpuLimit,
            sys::SCYTHE_END_MEMORY => Outcome::MemoryLimit,
            sys::SCYTHE_END_PROCESSES => Outcome::ProcessLimit,
            // SCYTHE_END_LOST, or an end this version does not know: never a success.
            _ => Outcome::Lost,
        }
    }

    pub(crate) fn cancelled(reason: Reason, token: Option<&Token>) -> Outcome {
        if reason == sys::SCYTHE_REASON_PREEMPTED {
            Outcome::Preempted { winner: token.and_then(Token::winner) }
        } else {
            Outcome::Cancelled { reason }
        }
    }
}

/// Captured bytes of a PIPE stream: the first and the last ones, `dropped` bytes in between discarded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    /// Bytes the job wrote to the stream.
    pub total: u64,
    /// total - head.len() - tail.len()
    pub dropped: u64,
    /// Memory ran out while capturing (SCYTHE_EVENT_STDOUT_LOST / _STDERR_LOST).
    pub lost: bool,
}

impl Output {
    /// head and tail together: the whole stream when nothing was dropped.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = self.head.clone();
        v.extend_from_slice(&self.tail);
        v
    }

    /// [`bytes`](Output::bytes) as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}

/// A finished job: how it ended, and what it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub outcome: Outcome,
    /// The leader's pid (0 if it never started).
    pub pid: i32,
    /// From just before the fork to the leader's exit.
    pub wall: Duration,
    pub user_cpu: Duration,
    pub sys_cpu: Duration,
    /// Peak memory in KiB where the machine accounts it (the cgroup level), else None.
    pub max_rss_kib: Option<i64>,
    /// The leader's own exit code if it exited (whatever then ended the job).
    pub exit_code: Option<i32>,
    /// The signal that killed the leader, if one did.
    pub signal: Option<i32>,
    /// SCYTHE_CONTAIN_* the job actually had.
    pub containment: i32,
    /// SCYTHE_EVENT_* flags.
    pub flags: u32,
    /// Its exit claimed its token (see [`Spawn::claim_on_exit`](crate::Spawn::claim_on_exit)).
    pub claimed: bool,
    /// Captured stdout, if it was a PIPE.
    pub stdout: Option<Output>,
    /// Captured stderr, if it was a PIPE.
    pub stderr: Option<Output>,
}

fn ns(v: i64) -> Duration {
    Duration::from_nanos(v.max(0) as u64)
}

impl Completion {
    pub(crate) fn from_event(ev: &sys::scythe_event, token: Option<&Token>) -> Completion {
        Completion {
            outcome: Outcome::from_event(ev, token),
            pid: ev.pid,
            wall: ns(ev.exit_ns - ev.start_ns),
            user_cpu: ns(ev.user_cpu_ns),
            sys_cpu: ns(ev.sys_cpu_ns),
            max_rss_kib: (ev.max_rss_kib >= 0).then_some(ev.max_rss_kib),
            exit_code: (ev.exit_code >= 0).then_some(ev.exit_code),
            signal: (ev.term_signal > 0).then_some(ev.term_signal),
            containment: ev.containment,
            flags: ev.flags,
            claimed: ev.claimed != 0,
            stdout: None,
            stderr: None,
        }
    }

    /// A job that never ran, or whose end this binding decided (its supervisor was dropped).
    pub(crate) fn without_event(outcome: Outcome, pid: i32) -> Completion {
        Completion {
            outcome,
            pid,
            wall: Duration::ZERO,
            user_cpu: Duration::ZERO,
            sys_cpu: Duration::ZERO,
            max_rss_kib: None,
            exit_code: None,
            signal: None,
            containment: sys::SCYTHE_CONTAIN_SESSION,
            flags: 0,
            claimed: false,
            stdout: None,
            stderr: None,
        }
    }
}

//! Raw bindings of libscythe, ABI 0.6: a line-by-line transcription of `native/include/scythe.h`, which is the
//! specification (read it for every function's contract). No dependencies.
//!
//! Two functions of the header are `static inline` there, so they are not in the library: `scythe_loop_run` and
//! `scythe_job_output`. Rust calls [`scythe_loop_run_sized`] and [`scythe_job_output_sized`] with its own
//! `size_of::<scythe_event>()` / `size_of::<scythe_output>()`; the inline functions [`scythe_loop_run`] and
//! [`scythe_job_output`] below do just that.
//!
//! A host checks [`scythe_abi_version`] before anything else: the same major as [`SCYTHE_ABI_MAJOR`] and a minor at
//! least [`SCYTHE_ABI_MINOR`]. The tests of this crate compare every struct here with the library's own layout
//! ([`scythe_abi_table`], [`scythe_sizeof`]).
#![allow(non_camel_case_types)]
#![no_std]

use core::ffi::{c_char, c_int};
use core::marker::{PhantomData, PhantomPinned};

// ---- versions ------------------------------------------------------------------------------------------------

pub const SCYTHE_VERSION_MAJOR: u32 = 0;
pub const SCYTHE_VERSION_MINOR: u32 = 6;
pub const SCYTHE_VERSION_PATCH: u32 = 0;
pub const SCYTHE_VERSION_NUMBER: u32 =
    (SCYTHE_VERSION_MAJOR << 16) | (SCYTHE_VERSION_MINOR << 8) | SCYTHE_VERSION_PATCH;

pub const SCYTHE_ABI_MAJOR: u32 = 0;
pub const SCYTHE_ABI_MINOR: u32 = 6;
pub const SCYTHE_ABI_NUMBER: u32 = (SCYTHE_ABI_MAJOR << 16) | SCYTHE_ABI_MINOR;

// ---- capabilities --------------------------------------------------------------------------------------------

pub const SCYTHE_CAP_PIDFD_OPEN: u32 = 0x0001;
pub const SCYTHE_CAP_PIDFD_SEND_SIGNAL: u32 = 0x0002;
pub const SCYTHE_CAP_WAITID_PIDFD: u32 = 0x0004;
pub const SCYTHE_CAP_CLOSE_RANGE: u32 = 0x0008;
pub const SCYTHE_CAP_SPAWN_SETSID: u32 = 0x0010;
pub const SCYTHE_CAP_SPAWN_CLOSEFROM: u32 = 0x0020;
pub const SCYTHE_CAP_SPAWN_CHDIR: u32 = 0x0040;
pub const SCYTHE_CAP_CGROUP_KILL: u32 = 0x0080;
pub const SCYTHE_CAP_CGROUP_MEMORY: u32 = 0x0100;
pub const SCYTHE_CAP_CGROUP_PIDS: u32 = 0x0200;
pub const SCYTHE_CAP_REQUIRED: u32 = SCYTHE_CAP_PIDFD_OPEN
    | SCYTHE_CAP_PIDFD_SEND_SIGNAL
    | SCYTHE_CAP_WAITID_PIDFD
    | SCYTHE_CAP_SPAWN_SETSID
    | SCYTHE_CAP_SPAWN_CLOSEFROM;

// ---- ABI self-description ------------------------------------------------------------------------------------

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct scythe_abi_entry {
    pub type_name: *const c_char,
    /// NULL for the row describing the struct itself.
    pub field_name: *const c_char,
    /// Field offset, or 0 for the struct row.
    pub offset: u32,
    /// Field size, or sizeof the struct.
    pub size: u32,
}

// ---- cancel tokens -------------------------------------------------------------------------------------------

/// Opaque. Every `scythe_token_*` function may be called from any thread.
#[repr(C)]
pub struct scythe_token {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

pub const SCYTHE_TOKEN_CANCELLED_BIT: u64 = 1 << 32;
pub const SCYTHE_TOKEN_WINNER_SHIFT: u32 = 33;

pub const SCYTHE_REASON_NONE: u32 = 0;
pub const SCYTHE_REASON_USER: u32 = 1;
pub const SCYTHE_REASON_TIMEOUT: u32 = 2;
pub const SCYTHE_REASON_PREEMPTED: u32 = 3;
pub const SCYTHE_REASON_SHUTDOWN: u32 = 4;
pub const SCYTHE_REASON_PARENT: u32 = 5;

/// The environment variable a job handed its token (`pass_token`) finds the fd in, in decimal.
pub const SCYTHE_TOKEN_FD_ENV: &str = "SCYTHE_TOKEN_FD";

// ---- the loop ------------------------------------------------------------------------------------------------

/// Opaque. Driven by exactly one thread calling `scythe_loop_run_sized`.
#[repr(C)]
pub struct scythe_loop {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque.
#[repr(C)]
pub struct scythe_job {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

pub const SCYTHE_EVENT_EXIT: i32 = 1;
pub const SCYTHE_EVENT_OUTPUT: i32 = 2;

pub const SCYTHE_END_EXITED: i32 = 1;
pub const SCYTHE_END_SIGNALED: i32 = 2;
pub const SCYTHE_END_TIMEOUT: i32 = 3;
pub const SCYTHE_END_CANCELLED: i32 = 4;
pub const SCYTHE_END_STALLED: i32 = 5;
pub const SCYTHE_END_CPU_LIMIT: i32 = 6;
pub const SCYTHE_END_MEMORY: i32 = 7;
pub const SCYTHE_END_PROCESSES: i32 = 8;
pub const SCYTHE_END_LOST: i32 = 9;

pub const SCYTHE_CONTAIN_SESSION: i32 = 0;
pub const SCYTHE_CONTAIN_CGROUP: i32 = 1;
pub const SCYTHE_CONTAIN_BEST: i32 = 2;

pub const SCYTHE_EVENT_TREE_WALKED: u32 = 0x1;
pub const SCYTHE_EVENT_DOSSIER: u32 = 0x2;
pub const SCYTHE_EVENT_STATUS_LOST: u32 = 0x4;
pub const SCYTHE_EVENT_STDOUT_LOST: u32 = 0x8;
pub const SCYTHE_EVENT_STDERR_LOST: u32 = 0x10;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct scythe_event {
    /// (since 0.6) Bytes of this struct the library wrote: the caller's event_size, at most its own sizeof.
    pub size: u32,
    pub reserved0: u32,
    pub user_data: u64,
    pub job: *mut scythe_job,
    /// SCYTHE_EVENT_*
    pub kind: i32,
    /// SCYTHE_END_*
    pub end: i32,
    pub exit_code: i32,
    pub term_signal: i32,
    pub cancel_reason: u32,
    pub core_dumped: i32,
    pub pid: i32,
    pub claimed: i32,
    pub flags: u32,
    pub reserved: i32,
    pub last_progress_ns: i64,
    pub containment: i32,
    pub reserved2: i32,
    pub start_ns: i64,
    pub exit_ns: i64,
    pub reaped_ns: i64,
    pub done_ns: i64,
    pub user_cpu_ns: i64,
    pub sys_cpu_ns: i64,
    pub max_rss_kib: i64,
}

impl scythe_event {
    /// All zero (null job): a buffer entry for `scythe_loop_run_sized` to fill.
    pub const ZERO: scythe_event = scythe_event {
        size: 0,
        reserved0: 0,
        user_data: 0,
        job: core::ptr::null_mut(),
        kind: 0,
        end: 0,
        exit_code: 0,
        term_signal: 0,
        cancel_reason: 0,
        core_dumped: 0,
        pid: 0,
        claimed: 0,
        flags: 0,
        reserved: 0,
        last_progress_ns: 0,
        containment: 0,
        reserved2: 0,
        start_ns: 0,
        exit_ns: 0,
        reaped_ns: 0,
        done_ns: 0,
        user_cpu_ns: 0,
        sys_cpu_ns: 0,
        max_rss_kib: 0,
    };
}

impl Default for scythe_event {
    fn default() -> Self {
        Self::ZERO
    }
}

// ---- spawning ------------------------------------------------------------------------------------------------

pub const SCYTHE_STDIO_INHERIT: i32 = 0;
pub const SCYTHE_STDIO_NULL: i32 = 1;
pub const SCYTHE_STDIO_PIPE: i32 = 2;
pub const SCYTHE_STDIO_FILE: i32 = 3;
pub const SCYTHE_STDIO_FILE_APPEND: i32 = 4;
pub const SCYTHE_STDIO_CHANNEL: i32 = 5;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct scythe_stdio {
    /// SCYTHE_STDIO_*
    pub mode: i32,
    pub reserved: i32,
    pub path: *const c_char,
    pub input: *const u8,
    pub input_len: usize,
}

impl scythe_stdio {
    pub const fn with_mode(mode: i32) -> Self {
        scythe_stdio { mode, reserved: 0, path: core::ptr::null(), input: core::ptr::null(), input_len: 0 }
    }
}

pub const SCYTHE_SPAWN_OPTIONS_VERSION: i32 = 6;

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct scythe_spawn_options {
    pub version: i32,
    pub reserved: i32,
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
    pub cwd: *const c_char,
    pub stdio: [scythe_stdio; 3],
    pub head_bytes: usize,
    pub tail_bytes: usize,
    pub timeout_ns: i64,
    pub grace_ns: i64,
    pub token: *mut scythe_token,
    pub user_data: u64,
    // version 2
    pub claim_index: i32,
    pub reserved2: i32,
    pub claim_exit_codes: [u64; 4],
    // version 3
    pub stall_ns: i64,
    pub probes: u32,
    pub reserved3: i32,
    pub progress_tree: *const c_char,
    pub progress_regex: *const c_char,
    pub heartbeat_path: *const c_char,
    pub cpu_limit_ns: i64,
    // version 4
    pub dossier_dir: *const c_char,
    // version 5
    pub containment: i32,
    pub reserved5: i32,
    pub memory_limit_bytes: i64,
    pub process_limit: i64,
    // version 6
    pub pass_token: i32,
    pub reserved6: i32,
}

pub const SCYTHE_PROBE_OUTPUT: u32 = 0x1;
pub const SCYTHE_PROBE_TREE: u32 = 0x2;
pub const SCYTHE_PROBE_HEARTBEAT: u32 = 0x4;
pub const SCYTHE_PROBE_HOST: u32 = 0x8;
pub const SCYTHE_PROBE_TREE_WALK: u32 = 0x10;

/// `SCYTHE_SPAWN_OPTIONS_INIT`: version 6, stdin NULL, stdout and stderr PIPE, claim_index -1, all else 0/NULL.
pub const SCYTHE_SPAWN_OPTIONS_INIT: scythe_spawn_options = scythe_spawn_options {
    version: SCYTHE_SPAWN_OPTIONS_VERSION,
    reserved: 0,
    argv: core::ptr::null(),
    envp: core::ptr::null(),
    cwd: core::ptr::null(),
    stdio: [
        scythe_stdio::with_mode(SCYTHE_STDIO_NULL),
        scythe_stdio::with_mode(SCYTHE_STDIO_PIPE),
        scythe_stdio::with_mode(SCYTHE_STDIO_PIPE),
    ],
    head_bytes: 0,
    tail_bytes: 0,
    timeout_ns: 0,
    grace_ns: 0,
    token: core::ptr::null_mut(),
    user_data: 0,
    claim_index: -1,
    reserved2: 0,
    claim_exit_codes: [0; 4],
    stall_ns: 0,
    probes: 0,
    reserved3: 0,
    progress_tree: core::ptr::null(),
    progress_regex: core::ptr::null(),
    heartbeat_path: core::ptr::null(),
    cpu_limit_ns: 0,
    dossier_dir: core::ptr::null(),
    containment: SCYTHE_CONTAIN_SESSION,
    reserved5: 0,
    memory_limit_bytes: 0,
    process_limit: 0,
    pass_token: 0,
    reserved6: 0,
};

impl Default for scythe_spawn_options {
    /// [`SCYTHE_SPAWN_OPTIONS_INIT`].
    fn default() -> Self {
        SCYTHE_SPAWN_OPTIONS_INIT
    }
}

#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct scythe_output {
    /// (since 0.6) Bytes of this struct the library wrote.
    pub size: u32,
    pub reserved: u32,
    pub head: *const u8,
    pub head_len: usize,
    pub tail: *const u8,
    pub tail_len: usize,
    pub total: u64,
    pub dropped: u64,
}

impl scythe_output {
    pub const ZERO: scythe_output = scythe_output {
        size: 0,
        reserved: 0,
        head: core::ptr::null(),
        head_len: 0,
        tail: core::ptr::null(),
        tail_len: 0,
        total: 0,
        dropped: 0,
    };
}

impl Default for scythe_output {
    fn default() -> Self {
        Self::ZERO
    }
}

// ---- functions -----------------------------------------------------------------------------------------------

extern "C" {
    pub fn scythe_version() -> u32;
    /// (since 0.6)
    pub fn scythe_abi_version() -> u32;

    pub fn scythe_capabilities() -> u32;
    pub fn scythe_capability_name(bit: u32) -> *const c_char;
    pub fn scythe_strerror(err: c_int) -> *const c_char;
    pub fn scythe_error_is_unsupported(err: c_int) -> c_int;

    pub fn scythe_abi_table(out: *mut *const scythe_abi_entry, count: *mut usize) -> c_int;
    /// (since 0.6)
    pub fn scythe_sizeof(type_name: *const c_char) -> usize;

    pub fn scythe_token_new(out: *mut *mut scythe_token, parent: *mut scythe_token) -> c_int;
    pub fn scythe_token_free(token: *mut scythe_token);
    pub fn scythe_token_cancel(token: *mut scythe_token, reason: u32) -> c_int;
    pub fn scythe_token_is_cancelled(token: *const scythe_token) -> c_int;
    pub fn scythe_token_state_address(token: *const scythe_token) -> *const u64;
    pub fn scythe_token_claim(token: *mut scythe_token, index: i32) -> c_int;
    pub fn scythe_token_winner(token: *const scythe_token) -> i32;
    /// (since 0.6)
    pub fn scythe_token_new_shared(out: *mut *mut scythe_token, parent: *mut scythe_token) -> c_int;
    /// (since 0.6)
    pub fn scythe_token_fd(token: *const scythe_token) -> c_int;
    /// (since 0.6)
    pub fn scythe_token_from_fd(out: *mut *mut scythe_token, fd: c_int) -> c_int;
    /// (since 0.6)
    pub fn scythe_token_open(out: *mut *mut scythe_token, path: *const c_char) -> c_int;
    /// (since 0.6)
    pub fn scythe_token_from_env(out: *mut *mut scythe_token) -> c_int;

    pub fn scythe_loop_new(out: *mut *mut scythe_loop) -> c_int;
    pub fn scythe_loop_free(lp: *mut scythe_loop);
    pub fn scythe_loop_wakeup(lp: *mut scythe_loop) -> c_int;
    pub fn scythe_loop_live_jobs(lp: *mut scythe_loop, out: *mut usize) -> c_int;
    /// (since 0.6) event_size: the caller's sizeof(scythe_event), at least 16 and a multiple of 8.
    pub fn scythe_loop_run_sized(
        count: *mut usize,
        lp: *mut scythe_loop,
        events: *mut scythe_event,
        event_size: usize,
        capacity: usize,
        timeout_ms: c_int,
    ) -> c_int;

    pub fn scythe_spawn_options_init(opts: *mut scythe_spawn_options) -> c_int;
    pub fn scythe_spawn(out: *mut *mut scythe_job, lp: *mut scythe_loop, opts: *const scythe_spawn_options) -> c_int;
    pub fn scythe_job_pid(job: *const scythe_job) -> i32;
    pub fn scythe_job_pidfd(job: *const scythe_job) -> c_int;
    pub fn scythe_job_cancel(job: *mut scythe_job, reason: u32) -> c_int;
    /// (since 0.6) out_size: the caller's sizeof(scythe_output), at least 8 and a multiple of 8.
    pub fn scythe_job_output_sized(
        out: *mut scythe_output,
        out_size: usize,
        job: *const scythe_job,
        stream: c_int,
    ) -> c_int;
    pub fn scythe_job_write(job: *mut scythe_job, data: *const u8, len: usize) -> c_int;
    pub fn scythe_job_close_stdin(job: *mut scythe_job) -> c_int;
    pub fn scythe_job_read(n: *mut usize, job: *mut scythe_job, buf: *mut u8, cap: usize) -> c_int;
    pub fn scythe_job_progress(job: *mut scythe_job) -> c_int;
    pub fn scythe_job_memory_peak(kib: *mut i64, job: *mut scythe_job) -> c_int;
    pub fn scythe_job_free(job: *mut scythe_job);

    pub fn scythe_regex_check(regex: *const c_char) -> c_int;
    pub fn scythe_regex_search(matched: *mut c_int, regex: *const c_char, text: *const u8, len: usize) -> c_int;

    pub fn scythe_dossier_path(buf: *mut c_char, len: usize, dir: *const c_char, pid: i32) -> c_int;

    pub fn scythe_guard_start(guard_exe: *const c_char) -> c_int;
    pub fn scythe_guard_pid() -> i32;
    pub fn scythe_guard_restarts() -> u64;

    pub fn scythe_heartbeat_open(out: *mut *mut u64, path: *const c_char) -> c_int;
    pub fn scythe_heartbeat_beat(counter: *mut u64);
    pub fn scythe_heartbeat_close(counter: *mut u64);
}

/// The header's `static inline scythe_loop_run`: [`scythe_loop_run_sized`] with this crate's
/// `size_of::<scythe_event>()`.
///
/// # Safety
/// As `scythe_loop_run_sized`: `events` points to `capacity` writable events (or capacity is 0), `lp` is live and
/// driven by this thread alone.
#[inline]
pub unsafe fn scythe_loop_run(
    count: *mut usize,
    lp: *mut scythe_loop,
    events: *mut scythe_event,
    capacity: usize,
    timeout_ms: c_int,
) -> c_int {
    scythe_loop_run_sized(count, lp, events, core::mem::size_of::<scythe_event>(), capacity, timeout_ms)
}

/// The header's `static inline scythe_job_output`: [`scythe_job_output_sized`] with this crate's
/// `size_of::<scythe_output>()`.
///
/// # Safety
/// As `scythe_job_output_sized`: `out` is writable, `job` is live.
#[inline]
pub unsafe fn scythe_job_output(out: *mut scythe_output, job: *const scythe_job, stream: c_int) -> c_int {
    scythe_job_output_sized(out, core::mem::size_of::<scythe_output>(), job, stream)
}

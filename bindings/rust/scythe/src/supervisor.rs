use crate::error::{check_abi, Error, Result, ECANCELED, EINVAL};
use crate::outcome::{Completion, Outcome, Output};
use crate::token::{Reason, Token};
use scythe_sys as sys;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where a standard stream of a job goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stdio {
    /// The parent's fd.
    Inherit,
    /// /dev/null.
    Null,
    /// stdout/stderr: captured (head and tail kept), in [`Completion::stdout`] / [`Completion::stderr`].
    /// stdin: an empty pipe, closed at once (use [`Stdio::Bytes`] to feed bytes).
    Pipe,
    /// stdin only: these bytes, then end-of-file.
    Bytes(Vec<u8>),
    /// A file: read for stdin, written (created 0644, truncated) for stdout/stderr.
    File(PathBuf),
    /// Like `File`, appending.
    Append(PathBuf),
}

/// How far a job is contained (see SCYTHE_CONTAIN_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Containment {
    /// Its own session (the default): a kill reaches everything that stays in its process group.
    #[default]
    Session,
    /// Also its own cgroup leaf; the spawn fails with ENOTSUP (see [`Error::is_unsupported`]) where the machine
    /// cannot give one. Memory and process limits need it.
    Cgroup,
    /// The cgroup level where the machine allows it, else the session.
    Best,
}

/// What to start and how to supervise it: a builder, reusable for many spawns.
#[derive(Debug, Clone)]
pub struct Spawn {
    argv: Vec<OsString>,
    env: Option<BTreeMap<OsString, OsString>>,
    cwd: Option<PathBuf>,
    stdio: [Stdio; 3],
    head_bytes: usize,
    tail_bytes: usize,
    timeout: Option<Duration>,
    grace_ns: i64,
    token: Option<Token>,
    pass_token: bool,
    claim: Option<(u32, [u64; 4])>,
    containment: Containment,
    memory_limit: u64,
    process_limit: u64,
    cpu_limit: Option<Duration>,
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Spawn {
    /// `program` is searched in PATH if it has no '/'. Defaults as SCYTHE_SPAWN_OPTIONS_INIT: stdin /dev/null,
    /// stdout and stderr captured, no limits.
    pub fn new(program: impl AsRef<OsStr>) -> Spawn {
        Spawn {
            argv: vec![program.as_ref().to_owned()],
            env: None,
            cwd: None,
            stdio: [Stdio::Null, Stdio::Pipe, Stdio::Pipe],
            head_bytes: 0,
            tail_bytes: 0,
            timeout: None,
            grace_ns: 0,
            token: None,
            pass_token: false,
            claim: None,
            containment: Containment::Session,
            memory_limit: 0,
            process_limit: 0,
            cpu_limit: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Spawn {
        self.argv.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Spawn {
        self.argv.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    fn env_map(&mut self) -> &mut BTreeMap<OsString, OsString> {
        self.env.get_or_insert_with(|| std::env::vars_os().collect())
    }

    /// Sets a variable in the job's environment (by default it inherits this process's environment, as read at
    /// each spawn).
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spawn {
        self.env_map().insert(key.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Spawn {
        self.env_map().remove(key.as_ref());
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(mut self) -> Spawn {
        self.env = Some(BTreeMap::new());
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Spawn {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn stdin(mut self, s: Stdio) -> Spawn {
        self.stdio[0] = s;
        self
    }

    pub fn stdout(mut self, s: Stdio) -> Spawn {
        self.stdio[1] = s;
        self
    }

    pub fn stderr(mut self, s: Stdio) -> Spawn {
        self.stdio[2] = s;
        self
    }

    /// Captures stdout and stderr (true, the default) or sends them to /dev/null.
    pub fn capture(self, on: bool) -> Spawn {
        let s = if on { Stdio::Pipe } else { Stdio::Null };
        self.stdout(s.clone()).stderr(s)
    }

    /// Bytes kept from the start and from the end of each captured stream (0: the library's 64 KiB).
    pub fn capture_limits(mut self, head_bytes: usize, tail_bytes: usize) -> Spawn {
        self.head_bytes = head_bytes;
        self.tail_bytes = tail_bytes;
        self
    }

    /// Wall-clock limit from the spawn.
    pub fn timeout(mut self, d: Duration) -> Spawn {
        self.timeout = Some(d);
        self
    }

    /// TERM to KILL escalation delay when the job is ended (default 2 s; zero: KILL at once).
    pub fn grace(mut self, d: Duration) -> Spawn {
        self.grace_ns = if d.is_zero() { -1 } else { duration_ns(d) };
        self
    }

    /// Cancelling this token (or a token above it) cancels the job.
    pub fn token(mut self, t: &Token) -> Spawn {
        self.token = Some(t.clone());
        self
    }

    /// Hands the job its token, which must be shared: its memfd as fd 3 and SCYTHE_TOKEN_FD=3 in its environment
    /// (for [`Token::from_env`] in the job).
    pub fn pass_token(mut self, on: bool) -> Spawn {
        self.pass_token = on;
        self
    }

    /// Races decided in the loop: when the job exits on its own with one of `exit_codes`, the loop claims its token
    /// for `index` at once, preempting every other job attached to it.
    pub fn claim_on_exit(mut self, index: u32, exit_codes: &[u8]) -> Spawn {
        assert!(index <= i32::MAX as u32, "claim index above i32::MAX");
        let mut bits = [0u64; 4];
        for &c in exit_codes {
            bits[c as usize / 64] |= 1 << (c % 64);
        }
        self.claim = Some((index, bits));
        self
    }

    pub fn containment(mut self, c: Containment) -> Spawn {
        self.containment = c;
        self
    }

    /// Memory limit of the job's cgroup, in bytes (needs the cgroup level).
    pub fn memory_limit(mut self, bytes: u64) -> Spawn {
        self.memory_limit = bytes;
        self
    }

    /// Processes at once in the job's cgroup (needs the cgroup level).
    pub fn process_limit(mut self, n: u64) -> Spawn {
        self.process_limit = n;
        self
    }

    /// CPU time of the leader and the children it reaped.
    pub fn cpu_limit(mut self, d: Duration) -> Spawn {
        self.cpu_limit = Some(d);
        self
    }

    pub fn get_token(&self) -> Option<&Token> {
        self.token.as_ref()
    }
}

fn cstring(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::new("scythe_spawn", EINVAL))
}

/// The C strings and pointer arrays a scythe_spawn_options points into, alive for the call.
struct Native {
    _strings: Vec<CString>,
    _argv: Vec<*const c_char>,
    _envp: Option<Vec<*const c_char>>,
    opts: sys::scythe_spawn_options,
}

impl Spawn {
    fn to_native(&self, user_data: u64) -> Result<Native> {
        let mut strings = Vec::new();
        let mut keep = |s: CString| {
            let p = s.as_ptr();
            strings.push(s);
            p
        };
        let mut argv = Vec::with_capacity(self.argv.len() + 1);
        for a in &self.argv {
            argv.push(keep(cstring(a)?));
        }
        argv.push(std::ptr::null());
        let envp = match &self.env {
            None => None,
            Some(map) => {
                let mut v = Vec::with_capacity(map.len() + 1);
                for (k, val) in map {
                    let mut kv = k.clone().into_vec();
                    kv.push(b'=');
                    kv.extend_from_slice(val.as_bytes());
                    v.push(keep(cstring(OsStr::from_bytes(&kv))?));
                }
                v.push(std::ptr::null());
                Some(v)
            }
        };
        let mut o = sys::SCYTHE_SPAWN_OPTIONS_INIT;
        o.argv = argv.as_ptr();
        o.envp = envp.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
        if let Some(cwd) = &self.cwd {
            o.cwd = keep(cstring(cwd.as_os_str())?);
        }
        for (i, s) in self.stdio.iter().enumerate() {
            let n = &mut o.stdio[i];
            *n = sys::scythe_stdio::with_mode(sys::SCYTHE_STDIO_NULL);
            match s {
                Stdio::Inherit => n.mode = sys::SCYTHE_STDIO_INHERIT,
                Stdio::Null => {}
                Stdio::Pipe => n.mode = sys::SCYTHE_STDIO_PIPE,
                Stdio::Bytes(b) if i == 0 => {
                    n.mode = sys::SCYTHE_STDIO_PIPE;
                    n.input = b.as_ptr(); // copied by scythe_spawn
                    n.input_len = b.len();
                }
                Stdio::Bytes(_) => return Err(Error::new("scythe_spawn", EINVAL)),
                Stdio::File(p) | Stdio::Append(p) => {
                    n.mode = if matches!(s, Stdio::File(_)) {
                        sys::SCYTHE_STDIO_FILE
                    } else {
                        sys::SCYTHE_STDIO_FILE_APPEND
                    };
                    n.path = keep(cstring(p.as_os_str())?);
                }
            }
        }
        o.head_bytes = self.head_bytes;
        o.tail_bytes = self.tail_bytes;
        o.timeout_ns = self.timeout.map_or(0, |d| duration_ns(d).max(1));
        o.grace_ns = self.grace_ns;
        o.token = self.token.as_ref().map_or(std::ptr::null_mut(), Token::raw);
        o.user_data = user_data;
        if let Some((index, bits)) = self.claim {
            o.claim_index = index as i32;
            o.claim_exit_codes = bits;
        }
        o.cpu_limit_ns = self.cpu_limit.map_or(0, |d| duration_ns(d).max(1));
        o.containment = match self.containment {
            Containment::Session => sys::SCYTHE_CONTAIN_SESSION,
            Containment::Cgroup => sys::SCYTHE_CONTAIN_CGROUP,
            Containment::Best => sys::SCYTHE_CONTAIN_BEST,
        };
        o.memory_limit_bytes = i64::try_from(self.memory_limit).unwrap_or(i64::MAX);
        o.process_limit = i64::try_from(self.process_limit).unwrap_or(i64::MAX);
        o.pass_token = self.pass_token as i32;
        Ok(Native { _strings: strings, _argv: argv, _envp: envp, opts: o })
    }
}

// ---- the supervisor ----------------------------------------------------------------------------------------------

/// One job's meeting point between its [`Job`] handle, the spawning thread and the loop thread.
struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
}

struct SlotState {
    /// The native job while it is live in the loop; null before the spawn returned and once freed.
    job: *mut sys::scythe_job,
    pid: i32,
    token: Option<Token>,
    capture: [bool; 3],
    completion: Option<Completion>,
}

// The job pointer is only used under the slot's mutex: scythe_job_cancel by any thread, scythe_job_output and
// scythe_job_free by the loop thread after taking it out.
unsafe impl Send for SlotState {}

struct State {
    /// Jobs spawned and not yet ended, by user_data. Only the loop thread removes a live job (and then frees it);
    /// so a job is freed exactly once, and never while the loop thread holds its event.
    slots: HashMap<u64, Arc<Slot>>,
    /// Jobs whose handle was dropped before they ended: the loop thread frees (kills) them.
    abandoned: Vec<u64>,
    next_id: u64,
    /// The loop thread should stop.
    closing: bool,
    /// The loop is freed: no native call on it any more.
    closed: bool,
}

struct Shared {
    lp: *mut sys::scythe_loop,
    state: Mutex<State>,
}

// scythe_spawn and scythe_loop_wakeup may be called from any thread; scythe_loop_run_sized only runs on the loop
// thread; scythe_loop_free only after it stopped.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Owns a scythe_loop and the thread that runs it. Jobs spawned through it run until they end, are cancelled, or
/// their [`Job`] handle is dropped (which kills them); dropping the supervisor kills and reaps every job still
/// running and frees the loop. `Send + Sync`: spawn from any thread.
pub struct Supervisor {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    pub fn new() -> Result<Supervisor> {
        check_abi()?;
        let mut lp: *mut sys::scythe_loop = std::ptr::null_mut();
        Error::check("scythe_loop_new", unsafe { sys::scythe_loop_new(&mut lp) })?;
        let shared = Arc::new(Shared {
            lp,
            state: Mutex::new(State {
                slots: HashMap::new(),
                abandoned: Vec::new(),
                next_id: 1,
                closing: false,
                closed: false,
            }),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new().name("scythe-loop".into()).spawn(move || run_loop(&s));
        match thread {
            Ok(t) => Ok(Supervisor { shared, thread: Some(t) }),
            Err(e) => {
                unsafe { sys::scythe_loop_free(lp) };
                Err(Error::new("pthread_create", e.raw_os_error().unwrap_or(11)))
            }
        }
    }

    /// Starts a job. Errors are scythe_spawn's: ENOENT, EACCES (the program), ECANCELED (its token is already
    /// cancelled), ENOTSUP (the cgroup level), EINVAL (a NUL byte in a string, pass_token with a local token, ...).
    pub fn spawn(&self, spec: &Spawn) -> Result<Job> {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState {
                job: std::ptr::null_mut(),
                pid: 0,
                token: spec.token.clone(),
                capture: [false, spec.stdio[1] == Stdio::Pipe, spec.stdio[2] == Stdio::Pipe],
                completion: None,
            }),
            done: Condvar::new(),
        });
        // Held across the spawn: the loop thread, given the job's event before we know the job, waits here.
        let mut st = lock(&slot.state);
        let id = {
            let mut g = lock(&self.shared.state);
            let id = g.next_id;
            g.next_id += 1;
            g.slots.insert(id, slot.clone());
            id
        };
        let result = spec.to_native(id).and_then(|native| {
            let mut job: *mut sys::scythe_job = std::ptr::null_mut();
            let rc = unsafe { sys::scythe_spawn(&mut job, self.shared.lp, &native.opts) };
            Error::check("scythe_spawn", rc).map(|_| job)
        });
        match result {
            Ok(job) => {
                st.job = job;
                st.pid = unsafe { sys::scythe_job_pid(job) };
                let pid = st.pid;
                drop(st);
                Ok(Job { shared: self.shared.clone(), slot, id, pid })
            }
            Err(e) => {
                lock(&self.shared.state).slots.remove(&id);
                Err(e)
            }
        }
    }

    /// Spawns and waits. A job that could not start ends as [`Outcome::SpawnFailed`] (or, when its token was
    /// already cancelled, as `Cancelled` / `Preempted`).
    pub fn run(&self, spec: &Spawn) -> Completion {
        match self.spawn(spec) {
            Ok(job) => job.wait(),
            Err(e) => {
                let outcome = match (&spec.token, e.errno) {
                    (Some(t), ECANCELED) if t.is_cancelled() => Outcome::cancelled(t.reason().unwrap_or(0), Some(t)),
                    _ => Outcome::SpawnFailed { errno: e.errno },
                };
                Completion::without_event(outcome, 0)
            }
        }
    }

    /// Jobs the loop still supervises.
    pub fn live_jobs(&self) -> usize {
        let mut n = 0usize;
        unsafe { sys::scythe_loop_live_jobs(self.shared.lp, &mut n) };
        n
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        {
            let mut g = lock(&self.shared.state);
            g.closing = true;
            unsafe { sys::scythe_loop_wakeup(self.shared.lp) };
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // The loop thread is gone: every job still in the map is live in the loop, which scythe_loop_free kills,
        // reaps and frees. Their handles learn it first, so none of them touches a freed job.
        let mut g = lock(&self.shared.state);
        g.closed = true;
        for (_, slot) in g.slots.drain() {
            let mut st = lock(&slot.state);
            st.job = std::ptr::null_mut();
            let outcome = Outcome::Cancelled { reason: sys::SCYTHE_REASON_SHUTDOWN };
            st.completion = Some(Completion::without_event(outcome, st.pid));
            slot.done.notify_all();
        }
        g.abandoned.clear();
        unsafe { sys::scythe_loop_free(self.shared.lp) };
    }
}

fn run_loop(shared: &Shared) {
    let mut events = vec![sys::scythe_event::ZERO; 64];
    loop {
        let (abandoned, closing) = {
            let mut g = lock(&shared.state);
            let ids = std::mem::take(&mut g.abandoned);
            let slots: Vec<Arc<Slot>> = ids.iter().filter_map(|id| g.slots.remove(id)).collect();
            (slots, g.closing)
        };
        for slot in abandoned {
            let job = std::mem::replace(&mut lock(&slot.state).job, std::ptr::null_mut());
            if !job.is_null() {
                unsafe { sys::scythe_job_free(job) }; // kills it; the loop reaps it; no event
            }
        }
        if closing {
            return;
        }
        let mut count = 0usize;
        let rc = unsafe {
            sys::scythe_loop_run_sized(
                &mut count,
                shared.lp,
                events.as_mut_ptr(),
                std::mem::size_of::<sys::scythe_event>(),
                events.len(),
                -1,
            )
        };
        if rc < 0 {
            // Nothing the loop thread could do about it but not spin.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        for ev in &events[..count] {
            if ev.kind != sys::SCYTHE_EVENT_EXIT {
                continue; // OUTPUT events: channels, which this binding does not open
            }
            let Some(slot) = lock(&shared.state).slots.remove(&ev.user_data) else { continue };
            let mut st = lock(&slot.state);
            let mut c = Completion::from_event(ev, st.token.as_ref());
            for stream in [1, 2] {
                if st.capture[stream] {
                    let out = read_output(ev, stream);
                    if stream == 1 {
                        c.stdout = out;
                    } else {
                        c.stderr = out;
                    }
                }
            }
            st.job = std::ptr::null_mut();
            st.completion = Some(c);
            slot.done.notify_all();
            drop(st);
            unsafe { sys::scythe_job_free(ev.job) };
        }
    }
}

fn read_output(ev: &sys::scythe_event, stream: usize) -> Option<Output> {
    let mut o = sys::scythe_output::ZERO;
    let rc = unsafe {
        sys::scythe_job_output_sized(&mut o, std::mem::size_of::<sys::scythe_output>(), ev.job, stream as i32)
    };
    if rc != 0 {
        return None;
    }
    let bytes =
        |p: *const u8, n: usize| if n == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(p, n) }.to_vec() };
    let lost = if stream == 1 { sys::SCYTHE_EVENT_STDOUT_LOST } else { sys::SCYTHE_EVENT_STDERR_LOST };
    Some(Output {
        head: bytes(o.head, o.head_len),
        tail: bytes(o.tail, o.tail_len),
        total: o.total,
        dropped: o.dropped,
        lost: ev.flags & lost != 0,
    })
}

/// A running (or finished) job. Dropping the handle of a job still running kills it (SIGKILL to its session; the
/// loop reaps it). `Send + Sync`.
pub struct Job {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    id: u64,
    pid: i32,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("pid", &self.pid).field("done", &self.is_done()).finish()
    }
}

impl Job {
    /// The leader's pid, which is also its session and process-group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Asks the loop to end the job (TERM, then KILL after the grace): true if its completion will say
    /// `Cancelled { reason: USER }`, false if its end was already decided.
    pub fn cancel(&self) -> bool {
        self.cancel_with(sys::SCYTHE_REASON_USER)
    }

    pub fn cancel_with(&self, reason: Reason) -> bool {
        let st = lock(&self.slot.state);
        !st.job.is_null() && unsafe { sys::scythe_job_cancel(st.job, reason) } == 0
    }

    pub fn is_done(&self) -> bool {
        lock(&self.slot.state).completion.is_some()
    }

    /// The completion, if the job ended.
    pub fn try_wait(&self) -> Option<Completion> {
        lock(&self.slot.state).completion.clone()
    }

    /// Blocks until the job ended.
    pub fn wait(&self) -> Completion {
        let mut st = lock(&self.slot.state);
        loop {
            if let Some(c) = &st.completion {
                return c.clone();
            }
            st = self.slot.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks until the job ended or `timeout` passed.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Completion> {
        let deadline = Instant::now() + timeout;
        let mut st = lock(&self.slot.state);
        loop {
            if let Some(c) = &st.completion {
                return Some(c.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            st = self.slot.done.wait_timeout(st, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let mut g = lock(&self.shared.state);
        if !g.closed && g.slots.contains_key(&self.id) {
            g.abandoned.push(self.id);
            unsafe { sys::scythe_loop_wakeup(self.shared.lp) };
        }
    }
}

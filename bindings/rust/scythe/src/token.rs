use crate::error::{check_abi, Error, Result, EALREADY};
use scythe_sys as sys;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Reasons below 256 are Scythe's own ([`scythe_sys::SCYTHE_REASON_USER`], ...); hosts use any other value.
pub type Reason = u32;

struct Handle(NonNull<sys::scythe_token>);

// Every scythe_token_* function may be called from any thread (scythe.h).
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        unsafe { sys::scythe_token_free(self.0.as_ptr()) }
    }
}

/// A cancel token: a word of native memory that any thread, and for a shared token any process, can flip once.
/// Cancelling it kills, natively and at once, every job attached to it or to a token below it, in every loop.
///
/// Cheap to clone (reference counted); the native token is freed with the last clone (jobs attached to it keep
/// their own reference). `Send + Sync`. Like tokio-util's `CancellationToken`, a [child](Token::child_token) is
/// cancelled with its parent, never the other way round.
#[derive(Clone)]
pub struct Token(Arc<Handle>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("state", &format_args!("{:#x}", self.state())).field("fd", &self.fd()).finish()
    }
}

fn make(function: &'static str, f: impl FnOnce(*mut *mut sys::scythe_token) -> i32) -> Result<Token> {
    check_abi()?;
    let mut out: *mut sys::scythe_token = std::ptr::null_mut();
    Error::check(function, f(&mut out))?;
    let p = NonNull::new(out).ok_or(Error::new(function, crate::error::EINVAL))?;
    Ok(Token(Arc::new(Handle(p))))
}

impl Token {
    /// A new live token, local to this process.
    pub fn new() -> Result<Token> {
        make("scythe_token_new", |out| unsafe { sys::scythe_token_new(out, std::ptr::null_mut()) })
    }

    /// A new live shared token: its word lives in a sealed memfd ([`fd`](Token::fd)) that other processes open
    /// ([`from_fd`](Token::from_fd), [`open`](Token::open), [`from_env`](Token::from_env)); a cancel or a claim in
    /// any of them is seen by all.
    pub fn shared() -> Result<Token> {
        make("scythe_token_new_shared", |out| unsafe { sys::scythe_token_new_shared(out, std::ptr::null_mut()) })
    }

    /// A local token cancelled (with this token's reason) when this one is, at once if it already is.
    pub fn child_token(&self) -> Result<Token> {
        make("scythe_token_new", |out| unsafe { sys::scythe_token_new(out, self.raw()) })
    }

    /// A shared token below this one (see [`child_token`](Token::child_token), [`shared`](Token::shared)).
    pub fn shared_child_token(&self) -> Result<Token> {
        make("scythe_token_new_shared", |out| unsafe { sys::scythe_token_new_shared(out, self.raw()) })
    }

    /// Opens the shared token behind `fd` (inherited, or received over a socket). The caller keeps `fd` and may
    /// close it. EINVAL if `fd` is not a Scythe token, EBADF if it is not an fd.
    pub fn from_fd(fd: RawFd) -> Result<Token> {
        make("scythe_token_from_fd", |out| unsafe { sys::scythe_token_from_fd(out, fd) })
    }

    /// Opens a shared token by a path that opens its file, such as `/proc/<pid>/fd/<fd>` of a process that holds it.
    pub fn open(path: impl AsRef<Path>) -> Result<Token> {
        let path = CString::new(path.as_ref().as_os_str().as_bytes())
            .map_err(|_| Error::new("scythe_token_open", crate::error::EINVAL))?;
        make("scythe_token_open", |out| unsafe { sys::scythe_token_open(out, path.as_ptr()) })
    }

    /// Opens the token this process was handed by its supervisor (`SCYTHE_TOKEN_FD`, the spawn option
    /// [`pass_token`](crate::Spawn::pass_token)). ENOENT if none was.
    pub fn from_env() -> Result<Token> {
        make("scythe_token_from_env", |out| unsafe { sys::scythe_token_from_env(out) })
    }

    /// The native handle, valid while this token (or a clone) lives.
    pub fn raw(&self) -> *mut sys::scythe_token {
        self.0 .0.as_ptr()
    }

    /// Cancels with [`SCYTHE_REASON_USER`](scythe_sys::SCYTHE_REASON_USER): true if this call cancelled it, false
    /// if it already was (the first reason stays).
    pub fn cancel(&self) -> bool {
        self.cancel_with(sys::SCYTHE_REASON_USER)
    }

    /// Cancels with the given reason; true if this call cancelled it.
    pub fn cancel_with(&self, reason: Reason) -> bool {
        let rc = unsafe { sys::scythe_token_cancel(self.raw(), reason) };
        debug_assert!(rc == 0 || rc == -EALREADY, "scythe_token_cancel: {rc}");
        rc == 0
    }

    /// True once cancelled (by anyone, a claim included).
    pub fn is_cancelled(&self) -> bool {
        unsafe { sys::scythe_token_is_cancelled(self.raw()) != 0 }
    }

    /// The raw state word: 0 while live (see scythe.h).
    pub fn state(&self) -> u64 {
        let p = unsafe { sys::scythe_token_state_address(self.raw()) };
        // The word is only ever changed by the library's compare-and-set; an acquire load is the documented read.
        unsafe { AtomicU64::from_ptr(p as *mut u64) }.load(Ordering::Acquire)
    }

    /// The reason it was cancelled with, or None while live.
    pub fn reason(&self) -> Option<Reason> {
        let s = self.state();
        (s & sys::SCYTHE_TOKEN_CANCELLED_BIT != 0).then_some(s as u32)
    }

    /// Races: exactly one claimant wins, in any thread or process. The first claim sets the winner to `index` and
    /// cancels the token with [`SCYTHE_REASON_PREEMPTED`](scythe_sys::SCYTHE_REASON_PREEMPTED). True for that
    /// claimant; false for every later one and when the token was cancelled otherwise before any claim.
    ///
    /// # Panics
    /// If `index` exceeds `i32::MAX`.
    pub fn claim(&self, index: u32) -> bool {
        let index = i32::try_from(index).expect("claim index above i32::MAX");
        unsafe { sys::scythe_token_claim(self.raw(), index) == 0 }
    }

    /// The claimed winner's index, or None.
    pub fn winner(&self) -> Option<u32> {
        let w = unsafe { sys::scythe_token_winner(self.raw()) };
        u32::try_from(w).ok()
    }

    /// The memfd of a shared token (owned by the token: do not close it; it is close-on-exec), or None for a local
    /// token.
    pub fn fd(&self) -> Option<RawFd> {
        let fd = unsafe { sys::scythe_token_fd(self.raw()) };
        (fd >= 0).then_some(fd)
    }

    /// Whether this token lives in a memfd that other processes can open.
    pub fn is_shared(&self) -> bool {
        self.fd().is_some()
    }

    /// Whether both are clones of the same handle (two opens of one shared token are different handles).
    pub fn ptr_eq(&self, other: &Token) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

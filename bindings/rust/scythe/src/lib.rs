//! Safe Rust API of libscythe (ABI 0.6), over [`scythe_sys`].
//!
//! - [`Supervisor`] owns a native loop and the thread that runs it; [`Supervisor::spawn`] starts a [`Job`] from a
//!   [`Spawn`] builder; [`Job::wait`] gives its [`Completion`] (an [`Outcome`], wall time, pid, captured output).
//!   Every handle frees its native object on drop: a dropped job is killed, a dropped supervisor kills and reaps
//!   what is left and frees its loop.
//! - [`Token`]: a cancel token, `Send + Sync`, cloned by reference count, with child tokens cancelled with their
//!   parent (as tokio-util's `CancellationToken`), races ([`Token::claim`]) and shared tokens that other
//!   processes open and cancel ([`Token::shared`], [`Token::from_fd`], [`Token::open`], [`Token::from_env`]).
//! - Errors are [`Error`]: the native function and its errno.
//!
//! Every constructor first checks the loaded library's ABI ([`check_abi`]): the same major, a minor of at least 6.
//!
//! ```no_run
//! use scythe::{Outcome, Spawn, Supervisor, Token};
//! use std::time::Duration;
//!
//! let sup = Supervisor::new()?;
//! let token = Token::new()?;
//! let job = sup.spawn(&Spawn::new("sleep").arg("10").token(&token).timeout(Duration::from_secs(5)))?;
//! token.cancel();
//! assert!(matches!(job.wait().outcome, Outcome::Cancelled { .. }));
//! # Ok::<(), scythe::Error>(())
//! ```

mod error;
mod outcome;
mod supervisor;
mod token;

pub use error::{abi_version, check_abi, version, Error, Result};
pub use outcome::{Completion, Outcome, Output};
pub use supervisor::{Containment, Job, Spawn, Stdio, Supervisor};
pub use token::{Reason, Token};

/// Scythe's own cancel reasons (hosts use values from 256 on).
pub mod reason {
    pub use scythe_sys::{
        SCYTHE_REASON_NONE as NONE, SCYTHE_REASON_PARENT as PARENT, SCYTHE_REASON_PREEMPTED as PREEMPTED,
        SCYTHE_REASON_SHUTDOWN as SHUTDOWN, SCYTHE_REASON_TIMEOUT as TIMEOUT, SCYTHE_REASON_USER as USER,
    };
}

pub use scythe_sys as sys;

/// Starts the crash-safety guard for this process (the scythe-guard executable shipped beside the library): from
/// then on every job is killed when this process dies, however it dies.
pub fn guard_start(guard_exe: impl AsRef<std::path::Path>) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    check_abi()?;
    let p = std::ffi::CString::new(guard_exe.as_ref().as_os_str().as_bytes())
        .map_err(|_| Error { function: "scythe_guard_start", errno: 22 })?;
    Error::check("scythe_guard_start", unsafe { scythe_sys::scythe_guard_start(p.as_ptr()) }).map(|_| ())
}

/// The SCYTHE_CAP_* bits this machine offers.
pub fn capabilities() -> u32 {
    unsafe { scythe_sys::scythe_capabilities() }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Token>();
    send_sync::<Supervisor>();
    send_sync::<Job>();
    send_sync::<Error>();
    send_sync::<Completion>();
};

use scythe_sys as sys;
use std::ffi::CStr;
use std::fmt;
use std::sync::OnceLock;

/// A failed libscythe call: the function and the errno it returned (positive: `2` is ENOENT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    /// The native function that failed (or `"scythe_abi_version"` when the loaded library's ABI does not fit).
    pub function: &'static str,
    /// The errno value, positive.
    pub errno: i32,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) const EINVAL: i32 = 22;
pub(crate) const EALREADY: i32 = 114;
pub(crate) const ECANCELED: i32 = 125;
pub(crate) const EPROTO: i32 = 71;

impl Error {
    pub(crate) fn new(function: &'static str, errno: i32) -> Self {
        Error { function, errno }
    }

    /// `Err` for a negative return value of a native call, `Ok(rc)` otherwise.
    pub(crate) fn check(function: &'static str, rc: i32) -> Result<i32> {
        if rc < 0 {
            Err(Error::new(function, -rc))
        } else {
            Ok(rc)
        }
    }

    /// The machine cannot do what was asked (-ENOTSUP from scythe_spawn for the cgroup level, ...), as
    /// `scythe_error_is_unsupported` says.
    pub fn is_unsupported(&self) -> bool {
        unsafe { sys::scythe_error_is_unsupported(-self.errno) != 0 }
    }

    /// The library's text for the errno ("No such file or directory").
    pub fn message(&self) -> &'static str {
        unsafe { CStr::from_ptr(sys::scythe_strerror(-self.errno)) }.to_str().unwrap_or("Unknown error")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.function == "scythe_abi_version" {
            let v = abi_version();
            return write!(
                f,
                "libscythe ABI {}.{} is loaded; this binding needs {}.{} or a later minor of the same major",
                v >> 16,
                v & 0xffff,
                sys::SCYTHE_ABI_MAJOR,
                sys::SCYTHE_ABI_MINOR
            );
        }
        write!(f, "{}: {} (errno {})", self.function, self.message(), self.errno)
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::Error::from_raw_os_error(e.errno).kind(), e)
    }
}

/// The loaded library's ABI: `(major << 16) | minor`.
pub fn abi_version() -> u32 {
    unsafe { sys::scythe_abi_version() }
}

/// The loaded library's version: `(major << 16) | (minor << 8) | patch`.
pub fn version() -> u32 {
    unsafe { sys::scythe_version() }
}

/// Whether the loaded library serves this binding: the same ABI major, a minor at least
/// [`scythe_sys::SCYTHE_ABI_MINOR`]. Checked once; every constructor of this crate calls it.
pub fn check_abi() -> Result<()> {
    static CHECKED: OnceLock<Result<()>> = OnceLock::new();
    *CHECKED.get_or_init(|| {
        let v = abi_version();
        if v >> 16 == sys::SCYTHE_ABI_MAJOR && (v & 0xffff) >= sys::SCYTHE_ABI_MINOR {
            Ok(())
        } else {
            Err(Error::new("scythe_abi_version", EPROTO))
        }
    })
}

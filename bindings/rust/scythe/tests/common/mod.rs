//! Shared by the integration tests: one test at a time touches processes (the harness runs tests on parallel
//! threads, and a leak check counts this process's children and fds), and every such test ends with a leak check.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

static PROCESSES: Mutex<()> = Mutex::new(());

#[path = "../../../test-support/procfs.rs"]
mod procfs;
pub use procfs::{children_of_self, exists, fd_count, fd_list, session_members};

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

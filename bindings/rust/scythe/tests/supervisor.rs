//! Real processes under a Supervisor: outcomes, output, timeouts, cancels, tokens shared with other processes.
//! Every test holds the process lock and ends with a leak check (no child, no fd left).
mod common;

use common::{children_of_self, exists, Leaks};
use scythe::{reason, Containment, Error, Outcome, Spawn, Stdio, Supervisor, Token};
use std::process::Command;
use std::time::{Duration, Instant};

const CANCEL_BIN: &str = env!("CARGO_BIN_EXE_scythe-cancel");

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn abi_is_checked() {
    scythe::check_abi().unwrap();
    assert_eq!(scythe::abi_version() >> 16, scythe::sys::SCYTHE_ABI_MAJOR);
    assert!(scythe::abi_version() & 0xffff >= 6);
}

#[test]
fn outcomes_of_real_processes() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let c = sup.run(&Spawn::new("/bin/true"));
        assert_eq!(c.outcome, Outcome::Success);
        assert!(c.pid > 0);
        assert!(c.wall > Duration::ZERO && c.wall < secs(10), "{:?}", c.wall);
        assert_eq!(c.exit_code, Some(0));

        assert_eq!(sup.run(&Spawn::new("/bin/false")).outcome, Outcome::Failure { code: 1 });
        assert_eq!(sup.run(&Spawn::new("sh").args(["-c", "exit 7"])).outcome, Outcome::Failure { code: 7 });

        let c = sup.run(&Spawn::new("sh").args(["-c", "kill -SEGV $$"]));
        assert!(matches!(c.outcome, Outcome::Crashed { signal: 11, .. }), "{:?}", c.outcome);
        assert_eq!(c.signal, Some(11));

        let c = sup.run(&Spawn::new("/nonexistent/program"));
        assert_eq!(c.outcome, Outcome::SpawnFailed { errno: 2 });
        let e = sup.spawn(&Spawn::new("/nonexistent/program")).unwrap_err();
        assert_eq!(e, Error { function: "scythe_spawn", errno: 2 });
        assert_eq!(e.to_string(), "scythe_spawn: No such file or directory (errno 2)");
        assert!(!e.is_unsupported());

        // Output: captured head and tail; stdin bytes; the environment; the working directory.
        let c = sup.run(&Spawn::new("sh").args(["-c", "echo out; echo err >&2"]));
        assert_eq!(c.stdout.as_ref().unwrap().text(), "out\n");
        assert_eq!(c.stderr.as_ref().unwrap().text(), "err\n");
        assert_eq!(c.stdout.as_ref().unwrap().total, 4);
        let c = sup.run(&Spawn::new("cat").stdin(Stdio::Bytes(b"fed".to_vec())));
        assert_eq!(c.stdout.unwrap().text(), "fed");
        let c = sup.run(
            &Spawn::new("sh")
                .args(["-c", "printf %s \"$SCYTHE_RUST_TEST\"; pwd"])
                .env("SCYTHE_RUST_TEST", "v")
                .cwd("/"),
        );
        assert_eq!(c.stdout.unwrap().text(), "v/\n");
        let c = sup.run(&Spawn::new("sh").args(["-c", "echo x"]).capture(false));
        assert!(c.stdout.is_none() && c.stderr.is_none());
        let c = sup.run(&Spawn::new("sh").args(["-c", "seq 1 100000"]).capture_limits(10, 10));
        let out = c.stdout.unwrap();
        assert_eq!(out.head, b"1\n2\n3\n4\n5\n");
        let full: String = (1..=100000).map(|n| format!("{n}\n")).collect();
        assert_eq!(out.tail, &full.as_bytes()[full.len() - 10..]);
        assert_eq!(out.total, full.len() as u64);
        assert_eq!(out.total, out.head.len() as u64 + out.tail.len() as u64 + out.dropped);

        // A string with a NUL byte cannot be passed.
        assert_eq!(sup.spawn(&Spawn::new("a\0b")).unwrap_err().errno, 22);
        assert_eq!(sup.live_jobs(), 0);
    }
    leaks.check();
}

#[test]
fn timeout_kills_the_job() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let t0 = Instant::now();
        let c = sup.run(&Spawn::new("sleep").arg("30").timeout(Duration::from_millis(200)));
        assert_eq!(c.outcome, Outcome::TimedOut);
        assert!(t0.elapsed() < secs(5), "{:?}", t0.elapsed());
        assert!(c.wall >= Duration::from_millis(190), "{:?}", c.wall);
        assert_eq!(c.signal, Some(15));
        // A process ignoring TERM gets KILL after the grace.
        let t0 = Instant::now();
        let c = sup.run(
            &Spawn::new("sh")
                .args(["-c", "trap '' TERM; sleep 30 & wait; sleep 30"])
                .timeout(Duration::from_millis(100))
                .grace(Duration::from_millis(200)),
        );
        assert_eq!(c.outcome, Outcome::TimedOut);
        assert!(t0.elapsed() < secs(5), "{:?}", t0.elapsed());
    }
    leaks.check();
}

#[test]
fn token_cancelled_from_another_thread_kills_attached_jobs_fast() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let token = Token::new().unwrap();
        let other = Token::new().unwrap();
        let jobs: Vec<_> = (0..4).map(|_| sup.spawn(&Spawn::new("sleep").arg("30").token(&token)).unwrap()).collect();
        let bystander = sup.spawn(&Spawn::new("sleep").arg("30").token(&other)).unwrap();
        let t = token.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            assert!(t.cancel());
            Instant::now()
        });
        let cancelled_at = canceller.join().unwrap();
        for j in &jobs {
            let c = j.wait_timeout(secs(10)).expect("job not cancelled");
            assert_eq!(c.outcome, Outcome::Cancelled { reason: reason::USER });
        }
        let latency = cancelled_at.elapsed();
        assert!(latency < secs(2), "cancel to last completion took {latency:?}");
        assert!(!token.cancel(), "second cancel");
        assert_eq!(token.reason(), Some(reason::USER));
        assert!(!bystander.is_done());
        assert!(!other.is_cancelled());
        // A job spawned on a cancelled token does not start.
        assert_eq!(sup.spawn(&Spawn::new("/bin/true").token(&token)).unwrap_err().errno, 125);
        let c = sup.run(&Spawn::new("/bin/true").token(&token));
        assert_eq!(c.outcome, Outcome::Cancelled { reason: reason::USER });
        drop(bystander); // killed by the drop
    }
    leaks.check();
}

#[test]
fn child_token_is_cancelled_with_its_parent_only() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let parent = Token::new().unwrap();
        let child = parent.child_token().unwrap();
        let grandchild = child.child_token().unwrap();
        let sibling = parent.child_token().unwrap();
        let on_parent = sup.spawn(&Spawn::new("sleep").arg("30").token(&parent)).unwrap();
        let on_grandchild = sup.spawn(&Spawn::new("sleep").arg("30").token(&grandchild)).unwrap();
        let on_sibling = sup.spawn(&Spawn::new("sleep").arg("30").token(&sibling)).unwrap();

        // A child's cancel stays below it.
        assert!(sibling.cancel_with(300));
        assert_eq!(on_sibling.wait_timeout(secs(10)).unwrap().outcome, Outcome::Cancelled { reason: 300 });
        assert!(!parent.is_cancelled() && !child.is_cancelled());
        assert!(on_parent.wait_timeout(Duration::from_millis(100)).is_none());

        // A parent's cancel reaches the whole tree, with its reason.
        drop(child); // the grandchild keeps the chain alive
        assert!(parent.cancel_with(301));
        assert!(grandchild.is_cancelled());
        assert_eq!(grandchild.reason(), Some(301));
        assert_eq!(on_parent.wait_timeout(secs(10)).unwrap().outcome, Outcome::Cancelled { reason: 301 });
        assert_eq!(on_grandchild.wait_timeout(secs(10)).unwrap().outcome, Outcome::Cancelled { reason: 301 });
        // A child of a cancelled token is born cancelled.
        let late = parent.child_token().unwrap();
        assert_eq!(late.reason(), Some(301));
    }
    leaks.check();
}

#[test]
fn job_cancel_and_drop() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let job = sup.spawn(&Spawn::new("sleep").arg("30")).unwrap();
        assert!(job.cancel());
        let c = job.wait_timeout(secs(10)).unwrap();
        assert_eq!(c.outcome, Outcome::Cancelled { reason: reason::USER });
        assert_eq!(c.pid, job.pid());
        assert!(!job.cancel(), "cancel after the end");

        // A job ignoring TERM with a zero grace: KILL at once.
        let job = sup
            .spawn(&Spawn::new("sh").args(["-c", "trap '' TERM; while :; do sleep 1; done"]).grace(Duration::ZERO))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(job.cancel_with(400));
        assert_eq!(job.wait_timeout(secs(5)).unwrap().outcome, Outcome::Cancelled { reason: 400 });

        // Finished jobs leave no fd open while the loop lives on.
        let fds = common::fd_count();
        for _ in 0..5 {
            assert_eq!(sup.run(&Spawn::new("sh").args(["-c", "echo x; echo y >&2"])).outcome, Outcome::Success);
        }
        assert_eq!(common::fd_count(), fds, "{:?}", common::fd_list());

        // Dropping the handle of a running job kills it, and the loop reaps and frees it.
        let job = sup.spawn(&Spawn::new("sleep").arg("30")).unwrap();
        let pid = job.pid();
        assert!(exists(pid));
        drop(job);
        let deadline = Instant::now() + secs(5);
        while exists(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!exists(pid), "dropped job {pid} still there");
        assert_eq!(sup.live_jobs(), 0);
        while common::fd_count() != fds && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(common::fd_count(), fds, "{:?}", common::fd_list());
    }
    leaks.check();
}

#[test]
fn dropping_the_supervisor_kills_everything() {
    let leaks = Leaks::start();
    let (jobs, pids) = {
        let sup = Supervisor::new().unwrap();
        // Sessions with grandchildren too.
        let jobs: Vec<_> =
            (0..3).map(|_| sup.spawn(&Spawn::new("sh").args(["-c", "sleep 30 & sleep 30; wait"])).unwrap()).collect();
        let pids: Vec<i32> = jobs.iter().map(|j| j.pid()).collect();
        // Each session holds its shell and its two sleeps before the drop.
        let deadline = Instant::now() + secs(5);
        while pids.iter().any(|p| common::session_members(*p).len() < 3) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(pids.iter().all(|p| common::session_members(*p).len() == 3));
        (jobs, pids)
    };
    // Dropped: every leader is reaped already, nothing is left.
    assert!(children_of_self().is_empty(), "{:?}", children_of_self());
    // Their grandchildren got the session's SIGKILL too (init reaps them: allow it a moment).
    let deadline = Instant::now() + secs(5);
    while pids.iter().any(|p| !common::session_members(*p).is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    for (j, pid) in jobs.iter().zip(&pids) {
        assert!(!exists(*pid));
        assert_eq!(common::session_members(*pid), Vec::<i32>::new(), "session {pid} left");
        assert_eq!(j.wait().outcome, Outcome::Cancelled { reason: reason::SHUTDOWN });
        assert!(!j.cancel());
    }
    drop(jobs); // handles outliving their supervisor are harmless
    leaks.check();
}

#[test]
fn jobs_from_many_threads() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let sup = &sup;
                s.spawn(move || {
                    for k in 0..5 {
                        let code = (i * 5 + k) % 3;
                        let c = sup.run(&Spawn::new("sh").args(["-c", &format!("echo {i}.{k}; exit {code}")]));
                        let expect = if code == 0 { Outcome::Success } else { Outcome::Failure { code } };
                        assert_eq!(c.outcome, expect);
                        assert_eq!(c.stdout.unwrap().text(), format!("{i}.{k}\n"));
                    }
                });
            }
        });
    }
    leaks.check();
}

#[test]
fn race_decided_in_the_loop() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let token = Token::new().unwrap();
        let fast = Spawn::new("sh").args(["-c", "sleep 0.1; exit 0"]).token(&token).claim_on_exit(0, &[0]);
        let slow = |i| Spawn::new("sleep").arg("30").token(&token).claim_on_exit(i, &[0]);
        let winner = sup.spawn(&fast).unwrap();
        let losers: Vec<_> = (1..4).map(|i| sup.spawn(&slow(i)).unwrap()).collect();
        let c = winner.wait_timeout(secs(10)).unwrap();
        assert_eq!(c.outcome, Outcome::Success);
        assert!(c.claimed);
        for l in &losers {
            assert_eq!(l.wait_timeout(secs(10)).unwrap().outcome, Outcome::Preempted { winner: Some(0) });
        }
        assert_eq!(token.winner(), Some(0));
        assert_eq!(token.reason(), Some(reason::PREEMPTED));
    }
    leaks.check();
}

#[test]
fn unsupported_containment_is_told_apart() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        match sup.spawn(&Spawn::new("/bin/true").containment(Containment::Cgroup)) {
            Ok(j) => assert_eq!(j.wait().outcome, Outcome::Success),
            Err(e) => assert!(e.is_unsupported(), "{e}"),
        }
        // Best falls back to the session level where the cgroup level is missing.
        assert_eq!(sup.run(&Spawn::new("/bin/true").containment(Containment::Best)).outcome, Outcome::Success);
    }
    leaks.check();
}

// ---- shared tokens, across processes --------------------------------------------------------------------------

fn path_of(t: &Token) -> String {
    format!("/proc/{}/fd/{}", std::process::id(), t.fd().expect("a shared token"))
}

fn cancel_tool(args: &[&str]) -> std::process::Output {
    let out = Command::new(CANCEL_BIN).args(args).env_remove("SCYTHE_TOKEN_FD").output().unwrap();
    assert!(out.status.success(), "scythe-cancel {args:?}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn token_basics() {
    let leaks = Leaks::start(); // shared tokens open fds: no other test counts them meanwhile
    let t = Token::new().unwrap();
    assert!(!t.is_cancelled() && t.reason().is_none() && t.winner().is_none() && t.fd().is_none());
    assert_eq!(t.state(), 0);
    assert!(t.claim(5));
    assert!(!t.claim(6));
    assert_eq!(t.winner(), Some(5));
    assert_eq!(t.reason(), Some(reason::PREEMPTED));
    assert!(!t.cancel());
    let c = t.clone();
    assert!(c.ptr_eq(&t));
    let t = Token::new().unwrap();
    assert!(t.cancel());
    assert!(!t.claim(0), "claim after a cancel");
    assert_eq!(t.winner(), None);

    let s = Token::shared().unwrap();
    assert!(s.is_shared());
    let same = Token::from_fd(s.fd().unwrap()).unwrap();
    assert!(!same.ptr_eq(&s));
    let by_path = Token::open(path_of(&s)).unwrap();
    assert!(same.claim(2));
    assert!(s.is_cancelled() && by_path.is_cancelled());
    assert_eq!(by_path.winner(), Some(2));
    assert!(!by_path.claim(3));

    assert_eq!(Token::from_fd(0).unwrap_err().errno, 22);
    assert_eq!(Token::from_fd(-1).unwrap_err().errno, 9);
    assert_eq!(Token::open("/nonexistent").unwrap_err().errno, 2);
    if std::env::var_os("SCYTHE_TOKEN_FD").is_none() {
        assert_eq!(Token::from_env().unwrap_err(), Error { function: "scythe_token_from_env", errno: 2 });
    }
    assert_eq!(Token::new().unwrap().shared_child_token().map(|t| t.is_shared()), Ok(true));
    drop((t, s, same, by_path));
    leaks.check();
}

#[test]
fn shared_token_cancelled_by_another_process_kills_jobs() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        let token = Token::shared().unwrap();
        let below = token.child_token().unwrap();
        let jobs: Vec<_> = (0..3).map(|_| sup.spawn(&Spawn::new("sleep").arg("30").token(&token)).unwrap()).collect();
        let child_job = sup.spawn(&Spawn::new("sleep").arg("30").token(&below)).unwrap();
        let t0 = Instant::now();
        let out = cancel_tool(&["--path", &path_of(&token), "--after-ms", "100", "--reason", "777"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "cancelled\n");
        for j in jobs.iter().chain([&child_job]) {
            let c = j.wait_timeout(secs(10)).expect("not cancelled by the other process");
            assert_eq!(c.outcome, Outcome::Cancelled { reason: 777 });
        }
        assert!(t0.elapsed() < secs(5), "{:?}", t0.elapsed());
        assert_eq!(token.reason(), Some(777));
        let out = cancel_tool(&["--path", &path_of(&token)]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "already cancelled (reason 777)\n");
    }
    leaks.check();
}

#[test]
fn job_handed_its_token_cancels_its_siblings() {
    let leaks = Leaks::start();
    {
        let sup = Supervisor::new().unwrap();
        for how in [&[][..], &["--fd", "3"][..]] {
            let token = Token::shared().unwrap();
            let sibling = sup.spawn(&Spawn::new("sleep").arg("30").token(&token)).unwrap();
            let canceller = Spawn::new(CANCEL_BIN).args(how).args(["--after-ms", "50"]).token(&token).pass_token(true);
            let c = sup.run(&canceller);
            // It cancelled its own token, so it may itself be killed before its exit.
            match c.outcome {
                Outcome::Success => assert_eq!(c.stdout.unwrap().text(), "cancelled\n"),
                Outcome::Cancelled { reason } => assert_eq!(reason, reason::USER),
                other => panic!("{how:?}: {other:?} {:?}", c.stderr.map(|e| e.text())),
            }
            let c = sibling.wait_timeout(secs(10)).unwrap();
            assert_eq!(c.outcome, Outcome::Cancelled { reason: reason::USER }, "{how:?}");
        }
        // pass_token needs a shared token.
        let local = Token::new().unwrap();
        let e = sup.spawn(&Spawn::new("/bin/true").token(&local).pass_token(true)).unwrap_err();
        assert_eq!(e.errno, 22);
    }
    leaks.check();
}

#[test]
fn first_claim_across_processes_wins_alone() {
    let leaks = Leaks::start();
    {
        let token = Token::shared().unwrap();
        let path = path_of(&token);
        let n = 8;
        let children: Vec<_> = (0..n)
            .map(|i| {
                Command::new(CANCEL_BIN)
                    .args(["--path", &path, "--after-ms", "200", "--claim", &i.to_string()])
                    .env_remove("SCYTHE_TOKEN_FD")
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let lines: Vec<String> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                assert!(out.status.success());
                String::from_utf8(out.stdout).unwrap()
            })
            .collect();
        let won: Vec<&String> = lines.iter().filter(|l| l.ends_with(": won\n")).collect();
        assert_eq!(won.len(), 1, "{lines:?}");
        let w = token.winner().expect("a winner");
        assert_eq!(won[0], &format!("claim {w}: won\n"));
        for l in &lines {
            assert!(l == won[0] || *l == format!("{}: lost (winner {w})\n", &l[..l.find(':').unwrap()]), "{l}");
        }
        assert!(!token.claim(99));
    }
    leaks.check();
}

#[test]
fn dropped_tokens_free_their_fds() {
    let leaks = Leaks::start();
    {
        let t = Token::shared().unwrap();
        let clones: Vec<Token> = (0..10).map(|_| t.clone()).collect();
        let opened: Vec<Token> = (0..10).map(|_| Token::from_fd(t.fd().unwrap()).unwrap()).collect();
        let children: Vec<Token> = (0..10).map(|_| t.child_token().unwrap()).collect();
        drop((clones, opened, children));
    }
    leaks.check();
}

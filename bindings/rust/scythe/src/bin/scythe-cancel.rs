//! scythe-cancel: opens a shared cancel token it was handed and cancels (or claims) it.
//!
//!   scythe-cancel [--fd N | --path P] [--after-ms N] [--claim INDEX | --reason R]
//!
//! The token comes from fd N (inherited), from a path that opens it (/proc/PID/fd/N of a process that holds it), or
//! by default from the environment (SCYTHE_TOKEN_FD, as the spawn option pass_token hands it). After --after-ms
//! milliseconds it cancels the token (with reason R, default 1: user) or, with --claim, claims it for INDEX. It prints
//! one line and exits 0:
//!   cancelled | already cancelled (reason R)
//!   claim INDEX: won | claim INDEX: lost (winner W) | claim INDEX: cancelled (reason R)
//! Exit status 2: bad arguments or the token could not be opened (the reason on stderr).
use scythe::Token;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: scythe-cancel [--fd N | --path P] [--after-ms N] [--claim INDEX | --reason R]";

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("scythe-cancel: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut fd: Option<i32> = None;
    let mut path: Option<String> = None;
    let mut after_ms = 0u64;
    let mut claim: Option<u32> = None;
    let mut reason = scythe::reason::USER;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        let parsed = match a.as_str() {
            "--fd" => value("--fd").and_then(|v| v.parse().map_err(|e| format!("--fd {v}: {e}")).map(|n| fd = Some(n))),
            "--path" => value("--path").map(|v| path = Some(v)),
            "--after-ms" => value("--after-ms")
                .and_then(|v| v.parse().map_err(|e| format!("--after-ms {v}: {e}")).map(|n| after_ms = n)),
            "--claim" => value("--claim")
                .and_then(|v| v.parse().map_err(|e| format!("--claim {v}: {e}")).map(|n| claim = Some(n))),
            "--reason" => {
                value("--reason").and_then(|v| v.parse().map_err(|e| format!("--reason {v}: {e}")).map(|n| reason = n))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other}\n{USAGE}")),
        };
        if let Err(e) = parsed {
            return fail(e);
        }
    }
    if claim.is_some_and(|c| c > i32::MAX as u32) {
        return fail("--claim: index above 2147483647");
    }
    let token = match (fd, &path) {
        (Some(_), Some(_)) => return fail(format!("--fd and --path exclude each other\n{USAGE}")),
        (Some(n), None) => Token::from_fd(n),
        (None, Some(p)) => Token::open(p),
        (None, None) => Token::from_env(),
    };
    let token = match token {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot open the token: {e}")),
    };
    if after_ms > 0 {
        std::thread::sleep(Duration::from_millis(after_ms));
    }
    match claim {
        Some(i) if token.claim(i) => println!("claim {i}: won"),
        Some(i) => match token.winner() {
            Some(w) => println!("claim {i}: lost (winner {w})"),
            None => println!("claim {i}: cancelled (reason {})", token.reason().unwrap_or(0)),
        },
        None if token.cancel_with(reason) => println!("cancelled"),
        None => println!("already cancelled (reason {})", token.reason().unwrap_or(0)),
    }
    ExitCode::SUCCESS
}

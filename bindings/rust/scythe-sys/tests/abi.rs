//! The layouts of this crate against the loaded library's own description (scythe_abi_table, scythe_sizeof), and
//! the sized calls of 0.6 against a host built with an older, smaller struct.
use scythe_sys::*;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::mem::{align_of, offset_of, size_of};
use std::sync::Mutex;

/// (name, offset, size) of every field of a struct, in declaration order.
type Fields = Vec<(&'static str, usize, usize)>;

fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! fields {
    ($t:ty; $($f:ident),* $(,)?) => {
        vec![$((stringify!($f), offset_of!($t, $f), field_size::<$t, _>(|s| &s.$f))),*]
    };
}

/// Every public struct of the header: (name, size, align, fields).
fn rust_layouts() -> Vec<(&'static str, usize, usize, Fields)> {
    vec![
        (
            "scythe_abi_entry",
            size_of::<scythe_abi_entry>(),
            align_of::<scythe_abi_entry>(),
            fields!(scythe_abi_entry; type_name, field_name, offset, size),
        ),
        (
            "scythe_event",
            size_of::<scythe_event>(),
            align_of::<scythe_event>(),
            fields!(scythe_event; size, reserved0, user_data, job, kind, end, exit_code, term_signal, cancel_reason,
                core_dumped, pid, claimed, flags, reserved, last_progress_ns, containment, reserved2, start_ns,
                exit_ns, reaped_ns, done_ns, user_cpu_ns, sys_cpu_ns, max_rss_kib),
        ),
        (
            "scythe_stdio",
            size_of::<scythe_stdio>(),
            align_of::<scythe_stdio>(),
            fields!(scythe_stdio; mode, reserved, path, input, input_len),
        ),
        (
            "scythe_spawn_options",
            size_of::<scythe_spawn_options>(),
            align_of::<scythe_spawn_options>(),
            fields!(scythe_spawn_options; version, reserved, argv, envp, cwd, stdio, head_bytes, tail_bytes,
                timeout_ns, grace_ns, token, user_data, claim_index, reserved2, claim_exit_codes, stall_ns, probes,
                reserved3, progress_tree, progress_regex, heartbeat_path, cpu_limit_ns, dossier_dir, containment,
                reserved5, memory_limit_bytes, process_limit, pass_token, reserved6),
        ),
        (
            "scythe_output",
            size_of::<scythe_output>(),
            align_of::<scythe_output>(),
            fields!(scythe_output; size, reserved, head, head_len, tail, tail_len, total, dropped),
        ),
    ]
}

/// type -> (struct size, field -> (offset, size)) from the library.
type LibraryLayouts = BTreeMap<String, (usize, BTreeMap<String, (usize, usize)>)>;

fn library_layouts() -> LibraryLayouts {
    let mut table: *const scythe_abi_entry = std::ptr::null();
    let mut count = 0usize;
    assert_eq!(unsafe { scythe_abi_table(&mut table, &mut count) }, 0);
    assert!(!table.is_null() && count > 0);
    let rows = unsafe { std::slice::from_raw_parts(table, count) };
    let mut out = LibraryLayouts::new();
    for r in rows {
        let ty = unsafe { CStr::from_ptr(r.type_name) }.to_str().unwrap().to_owned();
        let e = out.entry(ty.clone()).or_default();
        if r.field_name.is_null() {
            assert_eq!(r.offset, 0, "struct row of {ty}");
            e.0 = r.size as usize;
        } else {
            let f = unsafe { CStr::from_ptr(r.field_name) }.to_str().unwrap().to_owned();
            assert!(e.1.insert(f.clone(), (r.offset as usize, r.size as usize)).is_none(), "{ty}.{f} twice");
        }
    }
    out
}

#[test]
fn abi_version_is_compatible() {
    let v = unsafe { scythe_abi_version() };
    assert_eq!(v >> 16, SCYTHE_ABI_MAJOR, "ABI major of the loaded library");
    assert!((v & 0xffff) >= SCYTHE_ABI_MINOR, "ABI minor {} < {}", v & 0xffff, SCYTHE_ABI_MINOR);
    assert_eq!(unsafe { scythe_version() } >> 16, SCYTHE_VERSION_MAJOR);
}

#[test]
fn every_struct_matches_the_library() {
    let lib = library_layouts();
    let ours = rust_layouts();
    // Both sides know the same structs.
    let our_names: Vec<&str> = ours.iter().map(|o| o.0).collect();
    let lib_names: Vec<&str> = lib.keys().map(|k| k.as_str()).collect();
    let mut sorted = our_names.clone();
    sorted.sort();
    assert_eq!(sorted, lib_names, "structs described by the library vs this crate");
    for (name, size, align, fields) in ours {
        let (lib_size, lib_fields) = &lib[name];
        let cname = CString::new(name).unwrap();
        assert_eq!(size, *lib_size, "sizeof {name} (abi table)");
        assert_eq!(size, unsafe { scythe_sizeof(cname.as_ptr()) }, "sizeof {name} (scythe_sizeof)");
        // Every struct of the header holds a pointer, a size_t or a 64-bit integer: 8-byte aligned on LP64.
        assert_eq!(align, 8, "alignof {name}");
        assert_eq!(size % align, 0, "{name}: size a multiple of the alignment");
        assert_eq!(fields.len(), lib_fields.len(), "{name}: number of fields");
        for (f, off, fsize) in &fields {
            let Some(&(lib_off, lib_fsize)) = lib_fields.get(*f) else { panic!("{name}.{f} not in the abi table") };
            assert_eq!(*off, lib_off, "offset of {name}.{f}");
            assert_eq!(*fsize, lib_fsize, "size of {name}.{f}");
            // The library's offsets must be aligned as Rust aligns the field (no packed layout on either side).
            assert_eq!(lib_off % fsize.min(&8), 0, "{name}.{f} misaligned in the library");
        }
        // Fields in order, without overlap, ending inside the struct.
        let mut end = 0;
        for (f, off, fsize) in &fields {
            assert!(*off >= end, "{name}.{f} overlaps the field before");
            end = off + fsize;
        }
        assert!(end <= size, "{name}: last field past the end");
    }
    assert_eq!(unsafe { scythe_sizeof(c"no_such_struct".as_ptr()) }, 0);
    assert_eq!(unsafe { scythe_sizeof(std::ptr::null()) }, 0);
}

fn bytes_of<T>(v: &T) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, size_of::<T>()) }
}

#[test]
fn spawn_options_init_matches_the_library() {
    let mut lib = std::mem::MaybeUninit::<scythe_spawn_options>::zeroed();
    assert_eq!(unsafe { scythe_spawn_options_init(lib.as_mut_ptr()) }, 0);
    let lib = unsafe { lib.assume_init() };
    // Byte for byte: SCYTHE_SPAWN_OPTIONS_INIT has no padding holes (every gap is a reserved field).
    assert_eq!(bytes_of(&lib), bytes_of(&SCYTHE_SPAWN_OPTIONS_INIT));
    assert_eq!(lib.version, SCYTHE_SPAWN_OPTIONS_VERSION);
    assert_eq!(lib.claim_index, -1);
    assert_eq!(lib.stdio[0].mode, SCYTHE_STDIO_NULL);
    assert_eq!(lib.stdio[1].mode, SCYTHE_STDIO_PIPE);
    assert_eq!(lib.stdio[2].mode, SCYTHE_STDIO_PIPE);
}

#[test]
fn strerror_and_capabilities() {
    let s = unsafe { CStr::from_ptr(scythe_strerror(-2)) }.to_str().unwrap();
    assert_eq!(s, "No such file or directory");
    assert_ne!(unsafe { scythe_error_is_unsupported(-95) }, 0);
    assert_eq!(unsafe { scythe_error_is_unsupported(-2) }, 0);
    let caps = unsafe { scythe_capabilities() };
    assert_eq!(caps & SCYTHE_CAP_REQUIRED, SCYTHE_CAP_REQUIRED, "this machine lacks a required capability");
    let name = unsafe { CStr::from_ptr(scythe_capability_name(SCYTHE_CAP_PIDFD_OPEN)) };
    assert_eq!(name.to_str().unwrap(), "pidfd_open");
    assert!(unsafe { scythe_capability_name(0) }.is_null());
}

// ---- an older host: smaller structs, with canary bytes past them ------------------------------------------------

static PROCESSES: Mutex<()> = Mutex::new(());

#[path = "../../test-support/procfs.rs"]
mod procfs;
use procfs::{children_of_self, fd_count};

const CANARY: u8 = 0xA5;

/// Spawns /bin/true on a fresh loop with stdout captured, runs the loop with `event_size` into a buffer with canary
/// bytes past it, then reads the output with `out_size` the same way. Returns the event and output buffers.
fn run_with_sizes(event_size: usize, out_size: usize) -> (Vec<u8>, Vec<u8>) {
    let mut lp: *mut scythe_loop = std::ptr::null_mut();
    assert_eq!(unsafe { scythe_loop_new(&mut lp) }, 0);
    let argv: [*const std::ffi::c_char; 3] = [c"/bin/echo".as_ptr(), c"hello".as_ptr(), std::ptr::null()];
    let mut opts = SCYTHE_SPAWN_OPTIONS_INIT;
    opts.argv = argv.as_ptr();
    opts.user_data = 0x1234_5678_9abc_def0;
    let mut job: *mut scythe_job = std::ptr::null_mut();
    assert_eq!(unsafe { scythe_spawn(&mut job, lp, &opts) }, 0);
    // Two events' room: the second must stay untouched (one job, one event), the canary after it too.
    let slack = 64;
    let mut buf = vec![CANARY; 2 * event_size + slack];
    let mut count = 0usize;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count == 0 {
        assert!(std::time::Instant::now() < deadline, "no event");
        let rc = unsafe { scythe_loop_run_sized(&mut count, lp, buf.as_mut_ptr().cast(), event_size, 2, 1000) };
        assert_eq!(rc, 0);
    }
    assert_eq!(count, 1);
    let mut out = vec![CANARY; out_size + slack];
    assert_eq!(unsafe { scythe_job_output_sized(out.as_mut_ptr().cast(), out_size, job, 1) }, 0);
    unsafe {
        scythe_job_free(job);
        scythe_loop_free(lp);
    }
    (buf, out)
}

#[test]
fn smaller_event_and_output_structs_get_no_byte_past_their_size() {
    let _g = PROCESSES.lock().unwrap_or_else(|e| e.into_inner());
    let fds = fd_count();
    let full = size_of::<scythe_event>();
    let full_out = size_of::<scythe_output>();
    let event_sizes = [16usize, 24, 32, 64, full - 8, full, full + 16];
    let out_sizes = [8usize, 16, 24, 40, full_out - 8, full_out, full_out + 8];
    for (event_size, out_size) in event_sizes.into_iter().zip(out_sizes) {
        let (buf, out) = run_with_sizes(event_size, out_size);
        let written = event_size.min(full);
        // The library wrote the event's size first, then what fits.
        let size = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        assert_eq!(size, written, "event.size with event_size {event_size}");
        let user_data = u64::from_ne_bytes(buf[8..16].try_into().unwrap());
        assert_eq!(user_data, 0x1234_5678_9abc_def0);
        if event_size >= 40 {
            let kind = i32::from_ne_bytes(buf[24..28].try_into().unwrap());
            let end = i32::from_ne_bytes(buf[28..32].try_into().unwrap());
            let code = i32::from_ne_bytes(buf[32..36].try_into().unwrap());
            assert_eq!((kind, end, code), (SCYTHE_EVENT_EXIT, SCYTHE_END_EXITED, 0));
        }
        assert!(
            buf[written..].iter().all(|&b| b == CANARY),
            "event_size {event_size}: a byte past {written} was written"
        );
        let out_written = out_size.min(size_of::<scythe_output>());
        assert_eq!(u32::from_ne_bytes(out[0..4].try_into().unwrap()) as usize, out_written);
        assert!(out[out_written..].iter().all(|&b| b == CANARY), "out_size {out_size}: a byte past it was written");
        if out_size >= 48 {
            let total = u64::from_ne_bytes(out[40..48].try_into().unwrap());
            assert_eq!(total, 6, "\"hello\\n\"");
        }
    }
    assert!(children_of_self().is_empty(), "children left: {:?}", children_of_self());
    assert_eq!(fd_count(), fds, "fds leaked");
}

#[test]
fn bad_sizes_are_refused() {
    let _g = PROCESSES.lock().unwrap_or_else(|e| e.into_inner());
    let mut lp: *mut scythe_loop = std::ptr::null_mut();
    assert_eq!(unsafe { scythe_loop_new(&mut lp) }, 0);
    let mut ev = [scythe_event::ZERO; 1];
    let mut count = 0usize;
    for bad in [0usize, 8, 12, 20] {
        let rc = unsafe { scythe_loop_run_sized(&mut count, lp, ev.as_mut_ptr(), bad, 1, 0) };
        assert_eq!(rc, -22, "event_size {bad}");
    }
    assert_eq!(unsafe { scythe_loop_run(&mut count, lp, ev.as_mut_ptr(), 1, 0) }, 0);
    assert_eq!(count, 0);
    unsafe { scythe_loop_free(lp) };
}

//! The rpath of scythe-sys's library directories (DEP_SCYTHE_LIB_DIRS, see scythe-sys/build.rs) for this crate's
//! binaries, tests and examples, so they run without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_SCYTHE_LIB_DIRS");
    if let Some(dirs) = std::env::var_os("DEP_SCYTHE_LIB_DIRS").filter(|d| !d.is_empty()) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dirs.to_string_lossy());
    }
}

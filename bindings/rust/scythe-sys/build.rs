//! Finds libscythe: $SCYTHE_LIB_DIR, else the Maven build's output in this source tree
//! (native/target/classes/META-INF/native/linux-<arch>), else the system's search path. No pkg-config.
//!
//! The directory found (if any) goes into an rpath, so tests and binaries run without LD_LIBRARY_PATH: for this
//! crate's own targets here, and for dependents through DEP_SCYTHE_LIB_DIRS (this package `links = "scythe"`), whose
//! build scripts add it to theirs (a link argument of a dependency does not reach them).
//!
//! The library's soname carries the ABI major (libscythe.so.0): a program linked against it asks the dynamic linker
//! for that name. The Maven build's directory holds only libscythe.so, so where the directory has no file of the
//! soname's name, a directory in OUT_DIR gets a link of that name to the library, and joins the rpath.
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=SCYTHE_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let dir = match env::var_os("SCYTHE_LIB_DIR").filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
            // bindings/rust/scythe-sys -> the repository's root
            let tree = manifest.join("../../../native/target/classes/META-INF/native").join(format!("linux-{arch}"));
            println!("cargo:rerun-if-changed={}", tree.join("libscythe.so").display());
            tree.join("libscythe.so").is_file().then_some(tree)
        }
    };
    if let Some(dir) = dir {
        let dir = dir.canonicalize().unwrap_or(dir);
        let lib = dir.join("libscythe.so");
        println!("cargo:rerun-if-changed={}", lib.display());
        println!("cargo:rustc-link-search=native={}", dir.display());
        let mut rpath = vec![dir.clone()];
        if let Some(soname) = std::fs::read(&lib).ok().and_then(|elf| soname(&elf)) {
            if soname != "libscythe.so" && !dir.join(&soname).exists() {
                let shim = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("soname");
                std::fs::create_dir_all(&shim).expect("OUT_DIR/soname");
                let link = shim.join(&soname);
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&lib, &link).expect("soname link");
                rpath.push(shim);
            }
        }
        let joined = rpath.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{joined}");
        println!("cargo:lib_dirs={joined}");
    }
    println!("cargo:rustc-link-lib=dylib=scythe");
}

/// DT_SONAME of a 64-bit little-endian ELF shared object, or None.
fn soname(elf: &[u8]) -> Option<String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes(b.try_into().unwrap()));
    let u32_at = |o: usize| elf.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
    let u64_at = |o: usize| elf.get(o..o + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap()));
    if elf.get(0..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = u64_at(0x20)? as usize;
    let phentsize = u16_at(0x36)? as usize;
    let phnum = u16_at(0x38)? as usize;
    // Program headers: PT_LOAD maps addresses to file offsets; PT_DYNAMIC holds the dynamic section.
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        let (ty, offset, vaddr, filesz) = (u32_at(p)?, u64_at(p + 8)?, u64_at(p + 16)?, u64_at(p + 32)?);
        match ty {
            1 => loads.push((vaddr, offset, filesz)),
            2 => dynamic = Some((offset as usize, filesz as usize)),
            _ => {}
        }
    }
    let (dyn_off, dyn_size) = dynamic?;
    let (mut strtab, mut soname) = (None, None);
    for k in 0..dyn_size / 16 {
        let (tag, val) = (u64_at(dyn_off + 16 * k)?, u64_at(dyn_off + 16 * k + 8)?);
        match tag {
            0 => break,
            5 => strtab = Some(val),
            14 => soname = Some(val),
            _ => {}
        }
    }
    let strtab = strtab?;
    let file_off =
        loads.iter().find(|(va, _, sz)| strtab >= *va && strtab < va + sz).map(|(va, off, _)| strtab - va + off)?;
    let start = (file_off + soname?) as usize;
    let end = start + elf.get(start..)?.iter().position(|&b| b == 0)?;
    String::from_utf8(elf[start..end].to_vec()).ok()
}

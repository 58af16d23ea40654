// SPDX-License-Identifier: MIT
// Compiles profile2metrics.h and the bindings' shim (through
// csrc/p2m_impl.c) with the system C compiler and archives them for the
// crate: no `cc` crate, no registry. The header is the repository's (two
// directories up). The compiler is $CC (default cc), the archiver $AR
// (default ar).
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command) {
    let shown = format!("{:?}", cmd);
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("profile2metrics build: {} failed ({})", shown, s),
        Err(e) => panic!(
            "profile2metrics build: cannot run {} ({}): a C compiler is needed (set CC)",
            shown, e
        ),
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let include = manifest.join("..").join("..");
    let header = include.join("profile2metrics.h");
    if !header.exists() {
        panic!(
            "profile2metrics build: {} not found: the crate builds inside the profile2metrics sources",
            header.display()
        );
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let ar = env::var("AR").unwrap_or_else(|_| "ar".to_string());
    let src = manifest.join("csrc").join("p2m_impl.c");
    let obj = out.join("p2m_impl.o");
    let lib = out.join("libprofile2metrics_c.a");

    // Optimised whatever the Cargo profile: the library is the hot path,
    // and a debug build of it would make every test slow.
    run(Command::new(&cc)
        .args(["-std=c99", "-O2", "-g", "-fPIC", "-Wall", "-Wextra"])
        .arg("-I")
        .arg(&include)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj));
    let _ = std::fs::remove_file(&lib);
    run(Command::new(&ar).arg("crs").arg(&lib).arg(&obj));

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=profile2metrics_c");
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-changed={}", src.display());
    let shim = include.join("bindings").join("shim");
    println!(
        "cargo:rerun-if-changed={}",
        shim.join("p2m_shim.c").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        shim.join("p2m_shim.h").display()
    );
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=AR");
}

//! Links tests/unit/csample.c (without its main) into typesamples, compiled
//! with full debuginfo: a Rust program whose DWARF also has C compilation
//! units, as any Rust program linking a C library has.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = manifest.join("../../unit/csample.c");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let obj = out.join("csample.o");
    // Plain `cc`, not $CC: a sanitizer-instrumented CC would need its runtime.
    let status = Command::new("cc")
        .args(["-std=c11", "-g", "-O0", "-fPIC", "-DCSAMPLE_NO_MAIN", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("cannot run cc to compile tests/unit/csample.c");
    assert!(status.success(), "cc failed on {}", src.display());
    println!("cargo:rustc-link-arg-bins={}", obj.display());
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=build.rs");
}

//! Build-script part of `sighunt sense` (included by build.rs with the `ebpf`
//! feature): compiles src/sense/bpf/sigaction.bpf.c with clang and generates its
//! libbpf-rs skeleton into OUT_DIR.

use std::path::PathBuf;

const SOURCE: &str = "src/sense/bpf/sigaction.bpf.c";

pub fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("sigaction.skel.rs");
    let mut builder = libbpf_cargo::SkeletonBuilder::new();
    builder.source(SOURCE);
    if let Some(clang) = std::env::var_os("CLANG") {
        builder.clang(clang);
    }
    if let Err(e) = builder.build_and_generate(&out) {
        // The usual cause is a missing clang: say what to install.
        panic!(
            "cannot build the eBPF sensor ({SOURCE}): {e:#}\n\
             The `ebpf` feature needs clang (Debian: apt-get install clang make gcc libelf-dev \
             zlib1g-dev pkg-config); set CLANG to use another clang binary."
        );
    }
}

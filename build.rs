//! Build script: nothing unless the `ebpf` feature is on, when it compiles the
//! sensor's BPF program (src/sense/build_bpf.rs).

#[cfg(feature = "ebpf")]
#[path = "src/sense/build_bpf.rs"]
mod build_bpf;

fn main() {
    #[cfg(feature = "ebpf")]
    build_bpf::main();
}

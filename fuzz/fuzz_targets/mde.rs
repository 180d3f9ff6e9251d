#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| sighunt_fuzz::targets::mde(data));

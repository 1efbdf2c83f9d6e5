#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common/vendor.rs"]
mod vendor;

fuzz_target!(|data: &[u8]| vendor::run(tern_parsers::Vendor::CipherTrust, data));

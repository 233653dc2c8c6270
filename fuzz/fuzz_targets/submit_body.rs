//! The `/v2/submit` body parser: any bytes give a value or field errors, never a panic,
//! and an accepted body is normalised and canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    protocol::submission::check_parse_invariants(data);
});

//! Request authentication: any headers and body give a verdict, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    protocol::auth::check_verify_invariants(data);
});

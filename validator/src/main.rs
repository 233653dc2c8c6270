//! `pulse-validator`: see the `validator` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    validator::app::main(std::env::args_os().collect())
}

//! `pulse-validator`: see the `validator` library.

fn main() -> std::process::ExitCode {
    service::main::<validator::config::Cli>()
}

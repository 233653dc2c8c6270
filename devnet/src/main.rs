//! `pulse-devnet`: see the `devnet` library.

fn main() -> std::process::ExitCode {
    service::main::<devnet::config::Cli>()
}

//! `pulse-xapi`: [`xapi::run`] through `service::main` until SIGINT or SIGTERM.

fn main() -> std::process::ExitCode {
    service::main::<xapi::Cli>()
}

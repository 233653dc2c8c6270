fn main() -> std::process::ExitCode {
    service::main::<server::config::Cli>()
}

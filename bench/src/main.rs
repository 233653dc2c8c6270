fn main() -> std::process::ExitCode {
    service::main::<bench::config::Cli>()
}

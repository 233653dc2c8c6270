fn main() -> std::process::ExitCode {
    service::main::<miner::config::Cli>()
}

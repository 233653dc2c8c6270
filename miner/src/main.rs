fn main() -> std::process::ExitCode {
    miner::app::main(std::env::args_os().collect())
}

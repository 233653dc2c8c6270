//! `pulse-devnet`: see the `devnet` library.

fn main() -> std::process::ExitCode {
    devnet::app::main()
}

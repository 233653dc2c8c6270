//! The real `pulse-devnet`, with the real `pulse-server`, `pulse-xapi`, `pulse-miner` and
//! `pulse-validator` next to it (`cargo test --workspace` builds them all; `cargo test -p
//! devnet` alone does not rebuild them, so build the workspace first after changing them).

mod end_to_end;

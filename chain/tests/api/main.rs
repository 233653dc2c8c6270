//! End-to-end tests of the subtensor node double over real HTTP and WebSocket on 127.0.0.1,
//! one binary with a module per area. Tests that need the recorded finney files find them at
//! `$PULSE_SHARED_DIR` or `shared/` beside the workspace, and skip with a message without them.

mod admin;
mod binary;
mod helpers;
mod recorded;
mod rpc;
mod rules;
mod vectors;

//! Block and window arithmetic shared by the server and its clients.
//!
//! A window is `blocks_per_window` consecutive blocks; window `W` spans blocks
//! `W * blocks_per_window ..= W * blocks_per_window + blocks_per_window - 1`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Blocks in one rate-limit window (the reference value).
pub const DEFAULT_BLOCKS_PER_WINDOW: u64 = 100;
/// New posts one miner hotkey may submit per window (the reference value).
pub const DEFAULT_MAX_SUBMISSIONS: u32 = 5;
/// Seconds between blocks on the Bittensor chain.
pub const DEFAULT_BLOCK_TIME_SECS: f64 = 12.0;

/// Where a block falls: its window and that window's bounds.
///
/// Every reply of the coordination API that carries window information uses exactly these
/// fields, so clients can stay in step with the server's view of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct WindowInfo {
    /// The server's current block.
    pub current_block: u64,
    /// `current_block / blocks_per_window`.
    pub current_window: u64,
    /// First block of the current window.
    pub window_start_block: u64,
    /// Last block of the current window (inclusive).
    pub window_end_block: u64,
    /// First block of the next window.
    pub next_window_start_block: u64,
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// Blocks left until the next window starts (at least 1).
    pub blocks_until_next_window: u64,
}

impl WindowInfo {
    /// Window information for `block`.
    ///
    /// # Panics
    /// If `blocks_per_window` is zero; configurations reject that before any block is read.
    pub fn at(block: u64, blocks_per_window: u64) -> Self {
        assert!(
            blocks_per_window > 0,
            "blocks_per_window must be at least 1"
        );
        let window = block / blocks_per_window;
        let start = window * blocks_per_window;
        let next = start + blocks_per_window;
        Self {
            current_block: block,
            current_window: window,
            window_start_block: start,
            window_end_block: next - 1,
            next_window_start_block: next,
            blocks_per_window,
            blocks_until_next_window: next - block,
        }
    }

    /// Estimated seconds until the next window starts, at `block_time_secs` per block.
    pub fn seconds_until_next_window(&self, block_time_secs: f64) -> f64 {
        self.blocks_until_next_window as f64 * block_time_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_block_of_a_window_has_a_full_window_ahead() {
        let w = WindowInfo::at(4_512_300, 100);
        assert_eq!(w.current_window, 45_123);
        assert_eq!(w.window_start_block, 4_512_300);
        assert_eq!(w.window_end_block, 4_512_399);
        assert_eq!(w.next_window_start_block, 4_512_400);
        assert_eq!(w.blocks_until_next_window, 100);
    }

    #[test]
    fn last_block_of_a_window_is_one_block_from_the_next() {
        let w = WindowInfo::at(199, 100);
        assert_eq!(w.current_window, 1);
        assert_eq!(w.window_end_block, 199);
        assert_eq!(w.blocks_until_next_window, 1);
        assert_eq!(WindowInfo::at(200, 100).current_window, 2);
    }

    #[test]
    fn block_zero_is_in_window_zero() {
        let w = WindowInfo::at(0, 100);
        assert_eq!(
            (w.current_window, w.window_start_block, w.window_end_block),
            (0, 0, 99)
        );
    }

    #[test]
    fn windows_of_one_block_advance_every_block() {
        let w = WindowInfo::at(7, 1);
        assert_eq!(
            (w.current_window, w.window_start_block, w.window_end_block),
            (7, 7, 7)
        );
        assert_eq!(w.next_window_start_block, 8);
    }

    #[test]
    fn seconds_until_next_window_scale_with_block_time() {
        let w = WindowInfo::at(150, 100);
        assert_eq!(w.seconds_until_next_window(12.0), 600.0);
    }

    #[test]
    fn every_block_lies_inside_its_window() {
        for bpw in [1, 7, 100, 360] {
            for block in (0..2_000).chain([u64::MAX / 2]) {
                let w = WindowInfo::at(block, bpw);
                assert!(w.window_start_block <= block && block <= w.window_end_block);
                assert_eq!(w.window_end_block - w.window_start_block + 1, bpw);
                assert_eq!(
                    w.window_start_block + w.blocks_per_window,
                    w.next_window_start_block
                );
            }
        }
    }
}

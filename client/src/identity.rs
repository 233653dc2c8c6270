//! Which hotkey signs: a Bittensor wallet on disk, or a hex seed in the environment.
//!
//! The command-line flags that name a wallet (`--wallet.*`) belong to the binaries
//! (`service::cli::IdentityArgs`); this is what they name.

use std::path::PathBuf;

use anyhow::Context;
use protocol::{Hotkey, wallet};

/// Environment variable holding a hex seed, for containers that carry no wallet files. It is
/// read from the environment only, never from the command line, so it does not show in
/// process listings.
pub const SEED_ENV: &str = "PULSE_HOTKEY_SEED";

/// A hotkey in a Bittensor wallet: `<path>/<name>/hotkeys/<hotkey>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    /// Directory of wallets (`~` is the home directory).
    pub path: PathBuf,
    /// Wallet name (directory under `path`).
    pub name: String,
    /// Hotkey name inside the wallet.
    pub hotkey: String,
}

impl Wallet {
    /// The hotkey file.
    pub fn hotkey_file(&self) -> PathBuf {
        wallet::hotkey_path(&self.path, &self.name, &self.hotkey)
    }

    /// The signing hotkey: from `PULSE_HOTKEY_SEED` when set, else from the wallet file.
    pub fn load(&self) -> anyhow::Result<Hotkey> {
        if let Ok(seed) = std::env::var(SEED_ENV) {
            return Hotkey::from_seed_hex(&seed)
                .with_context(|| format!("{SEED_ENV} must be a 32-byte hex seed"));
        }
        Ok(wallet::load_hotkey(&self.hotkey_file())?)
    }
}

//! Which hotkey signs: a Bittensor wallet on disk, or a hex seed in the environment.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use protocol::{Hotkey, wallet};

/// Environment variable holding a hex seed, for containers that carry no wallet files. It is
/// read from the environment only, never from the command line, so it does not show in
/// process listings.
pub const SEED_ENV: &str = "PULSE_HOTKEY_SEED";

/// The wallet flags Bittensor tools use.
#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Wallet name (directory under --wallet.path).
    #[arg(
        long = "wallet.name",
        env = "BT_WALLET_NAME",
        default_value = "default"
    )]
    pub wallet_name: String,
    /// Hotkey name inside the wallet.
    #[arg(
        long = "wallet.hotkey",
        env = "BT_WALLET_HOTKEY",
        default_value = "default"
    )]
    pub wallet_hotkey: String,
    /// Directory of wallets.
    #[arg(
        long = "wallet.path",
        env = "BT_WALLET_PATH",
        default_value = "~/.bittensor/wallets"
    )]
    pub wallet_path: PathBuf,
}

impl IdentityArgs {
    /// The hotkey file these flags name.
    pub fn hotkey_file(&self) -> PathBuf {
        wallet::hotkey_path(&self.wallet_path, &self.wallet_name, &self.wallet_hotkey)
    }

    /// The signing hotkey: from `PULSE_HOTKEY_SEED` when set, else from the wallet file.
    pub fn load(&self) -> anyhow::Result<Hotkey> {
        if let Ok(seed) = std::env::var(SEED_ENV) {
            return Hotkey::from_seed_hex(&seed)
                .with_context(|| format!("{SEED_ENV} must be a 32-byte hex seed"));
        }
        let path = self.hotkey_file();
        Ok(wallet::load_hotkey(&path)?)
    }
}

//! `pulse-miner keygen`: a new hotkey in the wallet library's unencrypted on-disk format.

use protocol::Hotkey;
use protocol::wallet;
use service::cli::IdentityArgs;

/// Writes a new random hotkey at the file `identity` names (never over an existing one) and
/// returns it.
pub fn keygen(identity: &IdentityArgs) -> anyhow::Result<Hotkey> {
    let path = identity.hotkey_file();
    let hotkey = Hotkey::generate();
    wallet::write_hotkey(&path, &hotkey)?;
    Ok(hotkey)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn identity(dir: &std::path::Path) -> IdentityArgs {
        IdentityArgs {
            wallet_name: "miner".into(),
            wallet_hotkey: "hot".into(),
            wallet_path: PathBuf::from(dir),
        }
    }

    #[test]
    fn a_generated_hotkey_loads_back_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let identity = identity(dir.path());
        let key = keygen(&identity).unwrap();
        let path = dir.path().join("miner/hotkeys/hot");
        assert_eq!(wallet::load_hotkey(&path).unwrap().ss58(), key.ss58());
        let err = keygen(&identity).unwrap_err();
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert_eq!(wallet::load_hotkey(&path).unwrap().ss58(), key.ss58());
    }
}

//! Bittensor wallet hotkey files, as the Python wallet library writes them.
//!
//! Layout: `<wallet path>/<wallet name>/hotkeys/<hotkey name>` holds the unencrypted key as
//! JSON (`secretSeed`, `privateKey`, `publicKey`, `ss58Address`, ...), and
//! `<hotkey name>pub.txt` beside it the public part.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::keys::{Hotkey, decode_hex_array};

/// Why a hotkey file could not be used.
#[derive(Debug, Error)]
pub enum WalletError {
    /// No file at the path.
    #[error("no hotkey file at {0} (check --wallet.path, --wallet.name and --wallet.hotkey)")]
    NotFound(PathBuf),
    /// The file exists but cannot be read or written.
    #[error("cannot access hotkey file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file is encrypted; only unencrypted hotkeys (the wallet library's default for
    /// hotkeys) can be read.
    #[error(
        "hotkey file {0} is encrypted ({1}); Pulse reads unencrypted hotkeys only: regenerate the hotkey without a password, or pass the seed in an environment variable"
    )]
    Encrypted(PathBuf, &'static str),
    /// The file is not a hotkey file this library understands.
    #[error("hotkey file {path} is not a valid hotkey: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing would replace an existing key.
    #[error("{0} already exists; refusing to overwrite a hotkey")]
    AlreadyExists(PathBuf),
}

/// The wallet library's default wallet directory, `~/.bittensor/wallets`.
pub fn default_wallet_path() -> PathBuf {
    expand_home(Path::new("~/.bittensor/wallets"))
}

/// Replaces a leading `~` with `$HOME`, as the wallet library does for its paths.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// The file of hotkey `hotkey` in wallet `wallet` under `wallet_path`.
pub fn hotkey_path(wallet_path: &Path, wallet: &str, hotkey: &str) -> PathBuf {
    expand_home(wallet_path)
        .join(wallet)
        .join("hotkeys")
        .join(hotkey)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    #[serde(default)]
    secret_phrase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ss58_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crypto_type: Option<u8>,
}

fn encryption_kind(data: &[u8]) -> Option<&'static str> {
    // Markers the wallet library writes in front of its encrypted formats.
    [
        (&b"$NACL"[..], "NaCl"),
        (&b"$ANSIBLE_VAULT"[..], "Ansible Vault"),
        (&b"gAAAAA"[..], "legacy Fernet"),
    ]
    .into_iter()
    .find(|(marker, _)| data.starts_with(marker))
    .map(|(_, kind)| kind)
}

/// Loads the hotkey stored in an unencrypted wallet hotkey file.
///
/// The key is rebuilt from `secretSeed` (or from `privateKey` when there is no seed), and
/// must match the file's `ss58Address` when one is given.
pub fn load_hotkey(path: &Path) -> Result<Hotkey, WalletError> {
    let data = fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => WalletError::NotFound(path.to_path_buf()),
        _ => WalletError::Io {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if let Some(kind) = encryption_kind(&data) {
        return Err(WalletError::Encrypted(path.to_path_buf(), kind));
    }
    let malformed = |reason: String| WalletError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let file: KeyFile =
        serde_json::from_slice(&data).map_err(|e| malformed(format!("not hotkey JSON ({e})")))?;
    let hotkey = if let Some(seed) = &file.secret_seed {
        Hotkey::from_seed_hex(seed).map_err(|e| malformed(format!("secretSeed: {e}")))?
    } else if let Some(private) = &file.private_key {
        let bytes =
            decode_hex_array::<64>(private).map_err(|e| malformed(format!("privateKey: {e}")))?;
        Hotkey::from_expanded_secret(&bytes).map_err(|e| malformed(format!("privateKey: {e}")))?
    } else {
        return Err(malformed(
            "it has no secretSeed or privateKey (a public key file cannot sign)".into(),
        ));
    };
    if let Some(address) = &file.ss58_address
        && address != hotkey.ss58()
    {
        return Err(malformed(format!(
            "its key belongs to {} but the file says {address}",
            hotkey.ss58()
        )));
    }
    Ok(hotkey)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), WalletError> {
    let io_err = |source| WalletError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => WalletError::AlreadyExists(path.to_path_buf()),
        _ => io_err(source),
    })?;
    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

/// Writes `hotkey` as an unencrypted hotkey file at `path` (owner-only permissions) and its
/// public part to `<path>pub.txt`, creating directories as needed. Never overwrites.
pub fn write_hotkey(path: &Path, hotkey: &Hotkey) -> Result<(), WalletError> {
    let io_err = |source| WalletError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_err)?;
    }
    let public = format!("0x{}", hex::encode(hotkey.public_key()));
    let secret = KeyFile {
        account_id: Some(public.clone()),
        public_key: Some(public.clone()),
        private_key: Some(format!("0x{}", hex::encode(hotkey.expanded_secret()))),
        secret_phrase: None,
        secret_seed: hotkey.seed().map(|s| format!("0x{}", hex::encode(s))),
        ss58_address: Some(hotkey.ss58().to_string()),
        crypto_type: Some(1),
    };
    let public_file = KeyFile {
        account_id: Some(public.clone()),
        public_key: Some(public),
        private_key: None,
        secret_phrase: None,
        secret_seed: None,
        ss58_address: Some(hotkey.ss58().to_string()),
        crypto_type: Some(1),
    };
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push("pub.txt");
    let pub_path = PathBuf::from(pub_path);
    if pub_path.exists() {
        return Err(WalletError::AlreadyExists(pub_path));
    }
    write_new(
        path,
        &serde_json::to_vec(&secret).expect("key file serialises"),
        0o600,
    )?;
    write_new(
        &pub_path,
        &serde_json::to_vec(&public_file).expect("key file serialises"),
        0o644,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pulse-wallet-{name}-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_written_hotkey_loads_back_as_the_same_key() {
        let dir = temp_dir("roundtrip");
        let path = hotkey_path(&dir, "miner", "default");
        let key = Hotkey::generate();
        write_hotkey(&path, &key).unwrap();
        assert_eq!(load_hotkey(&path).unwrap().ss58(), key.ss58());
        let public = fs::read_to_string(dir.join("miner/hotkeys/defaultpub.txt")).unwrap();
        assert!(public.contains(key.ss58()) && !public.contains("secretSeed"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn written_secret_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let path = dir.join("hotkey");
        write_hotkey(&path, &Hotkey::generate()).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_existing_hotkey_is_never_overwritten() {
        let dir = temp_dir("overwrite");
        let path = dir.join("hotkey");
        let first = Hotkey::generate();
        write_hotkey(&path, &first).unwrap();
        assert!(matches!(
            write_hotkey(&path, &Hotkey::generate()),
            Err(WalletError::AlreadyExists(_))
        ));
        assert_eq!(load_hotkey(&path).unwrap().ss58(), first.ss58());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn encrypted_files_get_a_clear_error() {
        let dir = temp_dir("encrypted");
        let path = dir.join("hotkey");
        fs::write(&path, b"$NACL\x01\x02\x03").unwrap();
        let err = load_hotkey(&path).unwrap_err();
        assert!(matches!(err, WalletError::Encrypted(_, "NaCl")), "{err}");
        assert!(err.to_string().contains("encrypted"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_and_garbled_files_are_told_apart() {
        let dir = temp_dir("garbled");
        assert!(matches!(
            load_hotkey(&dir.join("absent")),
            Err(WalletError::NotFound(_))
        ));
        fs::write(dir.join("garbled"), b"{\"secretSeed\": \"0x12\"}").unwrap();
        assert!(matches!(
            load_hotkey(&dir.join("garbled")),
            Err(WalletError::Malformed { .. })
        ));
        fs::write(
            dir.join("public"),
            b"{\"ss58Address\": \"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"}",
        )
        .unwrap();
        let err = load_hotkey(&dir.join("public")).unwrap_err();
        assert!(err.to_string().contains("cannot sign"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_whose_address_disagrees_with_its_key_is_refused() {
        let dir = temp_dir("mismatch");
        let path = dir.join("hotkey");
        let seed = format!("0x{}", hex::encode([3u8; 32]));
        let other = Hotkey::from_seed([4; 32]);
        fs::write(
            &path,
            format!(
                "{{\"secretSeed\":\"{seed}\",\"ss58Address\":\"{}\"}}",
                other.ss58()
            ),
        )
        .unwrap();
        assert!(matches!(
            load_hotkey(&path),
            Err(WalletError::Malformed { .. })
        ));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tilde_expands_to_home() {
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                expand_home(Path::new("~/.bittensor")),
                PathBuf::from(home).join(".bittensor")
            );
        }
        assert_eq!(
            expand_home(Path::new("/abs/path")),
            PathBuf::from("/abs/path")
        );
    }
}

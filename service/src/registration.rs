//! The start-up check of a miner or validator with a subtensor configured
//! ([`SubtensorArgs`](crate::cli::SubtensorArgs)): is the hotkey on the subnet, and (for a
//! validator) does it hold a validator permit and enough stake? A failed check is one line
//! that names the `btcli` command that fixes it.

use std::time::Duration;

use anyhow::Context;
use subtensor::{Neuron, RpcOptions, Subtensor};
use thiserror::Error;

use crate::cli::{IdentityArgs, SubnetTarget};

/// Rao per TAO (and per alpha).
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// What the hotkey is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// A UID.
    Miner,
    /// A UID, a validator permit and at least this alpha stake, in rao.
    Validator {
        /// Least stake, in rao.
        min_stake_rao: u64,
    },
}

/// Why a hotkey may not start in its role. Each message is one line naming the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotReady {
    /// No UID on the subnet.
    #[error(
        "hotkey {hotkey} has no UID on netuid {netuid} at block {block} ({network}): register it with `btcli subnet register --netuid {netuid} {wallet} {chain}`"
    )]
    NoUid {
        /// SS58 hotkey.
        hotkey: String,
        /// The subnet.
        netuid: u16,
        /// The block read.
        block: u64,
        /// The network's name.
        network: String,
        /// The `--wallet.*` flags of the command.
        wallet: String,
        /// The `--subtensor.*` flag of the command.
        chain: String,
    },
    /// A UID but no validator permit.
    #[error(
        "hotkey {hotkey} (uid {uid} on netuid {netuid} at block {block}) has no validator permit: the chain gives permits to the subnet's top stakes each epoch; add stake with `btcli stake add --netuid {netuid} --include-hotkeys {hotkey} {wallet} {chain}`"
    )]
    NoPermit {
        /// SS58 hotkey.
        hotkey: String,
        /// Its uid.
        uid: u16,
        /// The subnet.
        netuid: u16,
        /// The block read.
        block: u64,
        /// The `--wallet.*` flags of the command.
        wallet: String,
        /// The `--subtensor.*` flag of the command.
        chain: String,
    },
    /// A permit but less stake than asked.
    #[error(
        "hotkey {hotkey} (uid {uid} on netuid {netuid} at block {block}) has {stake} of stake on the subnet, below --min-validator-stake {min}: add stake with `btcli stake add --netuid {netuid} --include-hotkeys {hotkey} {wallet} {chain}`"
    )]
    LowStake {
        /// SS58 hotkey.
        hotkey: String,
        /// Its uid.
        uid: u16,
        /// The subnet.
        netuid: u16,
        /// The block read.
        block: u64,
        /// Its stake, in TAO units.
        stake: String,
        /// The least stake, in TAO units.
        min: String,
        /// The `--wallet.*` flags of the command.
        wallet: String,
        /// The `--subtensor.*` flag of the command.
        chain: String,
    },
}

/// Judges `hotkey` against the subnet's `neurons` read at `block`: its neuron, or why it may
/// not start.
pub fn judge(
    neurons: &[Neuron],
    block: u64,
    target: &SubnetTarget,
    identity: &IdentityArgs,
    hotkey: &str,
    needs: Needs,
) -> Result<Neuron, Box<NotReady>> {
    let wallet = format!(
        "--wallet.name {} --wallet.hotkey {}",
        identity.wallet_name, identity.wallet_hotkey
    );
    let chain = match target.endpoint.network.as_str() {
        "unknown" => format!("--subtensor.chain_endpoint {}", target.endpoint.url),
        "local" if target.endpoint.url.as_str() != "ws://127.0.0.1:9944/" => {
            format!("--subtensor.chain_endpoint {}", target.endpoint.url)
        }
        name => format!("--subtensor.network {name}"),
    };
    let netuid = target.netuid;
    let Some(neuron) = neurons.iter().find(|n| n.hotkey == hotkey) else {
        return Err(Box::new(NotReady::NoUid {
            hotkey: hotkey.into(),
            netuid,
            block,
            network: target.endpoint.network.clone(),
            wallet,
            chain,
        }));
    };
    if let Needs::Validator { min_stake_rao } = needs {
        if !neuron.validator_permit {
            return Err(Box::new(NotReady::NoPermit {
                hotkey: hotkey.into(),
                uid: neuron.uid,
                netuid,
                block,
                wallet,
                chain,
            }));
        }
        if neuron.stake_rao < min_stake_rao {
            return Err(Box::new(NotReady::LowStake {
                hotkey: hotkey.into(),
                uid: neuron.uid,
                netuid,
                block,
                stake: tao(neuron.stake_rao),
                min: tao(min_stake_rao),
                wallet,
                chain,
            }));
        }
    }
    Ok(neuron.clone())
}

/// Reads the subnet's neurons at the node's best block and [`judge`]s `hotkey`: its neuron,
/// or an error that is one line (the node unreachable, or what [`NotReady`] says).
pub async fn check(
    target: &SubnetTarget,
    identity: &IdentityArgs,
    hotkey: &str,
    needs: Needs,
) -> anyhow::Result<Neuron> {
    let options = RpcOptions {
        connect_timeout: Duration::from_secs(15),
        request_timeout: Duration::from_secs(60),
    };
    let reading = || {
        format!(
            "reading netuid {} from the subtensor at {}",
            target.netuid, target.endpoint
        )
    };
    let client = Subtensor::connect(&target.endpoint, options)
        .await
        .with_context(reading)?;
    let head = client.head().await.with_context(reading)?;
    let neurons = client
        .neurons(target.netuid, head.hash)
        .await
        .with_context(reading)?;
    let neuron = judge(&neurons, head.number, target, identity, hotkey, needs)?;
    tracing::info!(
        hotkey,
        uid = neuron.uid,
        netuid = target.netuid,
        block = head.number,
        validator_permit = neuron.validator_permit,
        stake = %tao(neuron.stake_rao),
        "registered on the subnet"
    );
    Ok(neuron)
}

/// An amount of rao in TAO units (`1.5`, `0.000000001`).
pub fn tao(rao: u64) -> String {
    let whole = rao / RAO_PER_TAO;
    let fraction = rao % RAO_PER_TAO;
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{fraction:09}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{SubtensorArgs, parse_args};

    fn neuron(uid: u16, hotkey: &str, permit: bool, stake_rao: u64) -> Neuron {
        let mut neuron: Neuron = serde_json::from_value(serde_json::json!({
            "uid": uid, "netuid": 45, "hotkey": hotkey, "coldkey": "5C", "active": true,
            "validator_permit": permit, "stake_rao": stake_rao, "stake": [], "last_update": 0,
            "rank": 0, "emission": 0, "incentive": 0, "consensus": 0, "trust": 0,
            "validator_trust": 0, "dividends": 0, "pruning_score": 0,
            "axon_info": {"block": 0, "version": 0, "ip": 0, "port": 0, "ip_type": 4, "protocol": 0,
                          "placeholder1": 0, "placeholder2": 0},
            "prometheus_info": {"block": 0, "version": 0, "ip": 0, "port": 0, "ip_type": 4}
        }))
        .unwrap();
        neuron.uid = uid;
        neuron
    }

    fn target(args: &[&str]) -> SubnetTarget {
        parse_args::<SubtensorArgs>(args).target().unwrap().unwrap()
    }

    #[test]
    fn the_messages_name_the_btcli_command_for_the_network() {
        let identity: IdentityArgs =
            parse_args(&["--wallet.name", "owner", "--wallet.hotkey", "v1"]);
        let finney = target(&["--subtensor.network", "finney", "--netuid", "45"]);
        let neurons = [
            neuron(0, "5Miner", false, 0),
            neuron(1, "5Poor", true, 5 * RAO_PER_TAO),
            neuron(2, "5Rich", true, 5_000 * RAO_PER_TAO),
        ];
        let validator = Needs::Validator {
            min_stake_rao: 1_000 * RAO_PER_TAO,
        };
        let error = judge(&neurons, 900, &finney, &identity, "5Nobody", Needs::Miner).unwrap_err();
        assert_eq!(
            error.to_string(),
            "hotkey 5Nobody has no UID on netuid 45 at block 900 (finney): register it with `btcli subnet register --netuid 45 --wallet.name owner --wallet.hotkey v1 --subtensor.network finney`"
        );
        assert_eq!(
            judge(&neurons, 900, &finney, &identity, "5Miner", Needs::Miner)
                .unwrap()
                .uid,
            0
        );
        let error = judge(&neurons, 900, &finney, &identity, "5Miner", validator).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "hotkey 5Miner (uid 0 on netuid 45 at block 900) has no validator permit"
            ),
            "{error}"
        );
        assert!(error.to_string().contains("`btcli stake add --netuid 45 --include-hotkeys 5Miner --wallet.name owner --wallet.hotkey v1 --subtensor.network finney`"));
        let error = judge(&neurons, 900, &finney, &identity, "5Poor", validator).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("has 5 of stake on the subnet, below --min-validator-stake 1000"),
            "{error}"
        );
        assert_eq!(
            judge(&neurons, 900, &finney, &identity, "5Rich", validator)
                .unwrap()
                .uid,
            2
        );
        for message in [
            judge(&neurons, 1, &finney, &identity, "5Nobody", validator).unwrap_err(),
            judge(&neurons, 1, &finney, &identity, "5Poor", validator).unwrap_err(),
        ] {
            assert!(!message.to_string().contains('\n'));
        }
        let devnet = target(&[
            "--subtensor.chain_endpoint",
            "ws://127.0.0.1:9946",
            "--netuid",
            "2",
        ]);
        let error = judge(&[], 3, &devnet, &identity, "5X", Needs::Miner).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("--subtensor.chain_endpoint ws://127.0.0.1:9946/`"),
            "{error}"
        );
    }

    #[test]
    fn rao_print_as_tao() {
        assert_eq!(tao(1_500_000_000), "1.5");
        assert_eq!(tao(1), "0.000000001");
        assert_eq!(tao(7 * RAO_PER_TAO), "7");
    }
}

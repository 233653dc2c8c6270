#!/usr/bin/env python3
"""Drives pulse-chain with the official Bittensor Python SDK, as a person would.

Not part of `cargo test` (it needs PyPI packages); run it by hand after changing the double:

    python3 -m venv .venv-sdk
    .venv-sdk/bin/pip install bittensor==10.2.0 async-substrate-interface==1.6.4 bittensor-wallet==4.0.1 requests
    cargo build -p chain
    .venv-sdk/bin/python chain/scripts/sdk_check.py target/debug/pulse-chain ../shared

It starts the binary on a free port with netuid 1 (the pulse-test hotkey registered as a
validator), then through the SDK: reads the block, the neurons and the hyperparameters, sets
weights (commit-reveal off), sees a refused version key reported by name, and makes a
timelocked commit (commit-reveal on). It exits non-zero on the first surprise.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import bittensor as bt
import requests
from bittensor_wallet import Keypair

PULSE_TEST = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def main():
    binary, shared = sys.argv[1], sys.argv[2]
    seed = json.load(open(os.path.join(shared, "vectors/wallets/pulse-test/hotkeys/default")))["secretSeed"]
    work = tempfile.mkdtemp(prefix="pulse-chain-sdk-")
    state = {"subnets": [{"netuid": 1, "hyperparameters": {"commit_reveal_weights_enabled": False, "weights_rate_limit": 2},
                          "neurons": [{"hotkey": PULSE_TEST, "stake": 10_000_000_000, "validator_permit": True}]
                          + [{"hotkey": "0x" + ("%02x" % i) * 32} for i in range(1, 10)]}]}
    state_path = os.path.join(work, "state.json")
    json.dump(state, open(state_path, "w"))
    port = free_port()
    chain = subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}", "--block-time-ms", "500", "--state", state_path],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = chain.stdout.readline().strip()
        check(line == f"pulse-chain listening on ws://127.0.0.1:{port}", f"the binary announced itself: {line}")
        admin = f"http://127.0.0.1:{port}/admin"
        sub = bt.Subtensor(network=f"ws://127.0.0.1:{port}")
        check(sub.get_current_block() >= 0, "the SDK reads the current block")
        neurons = sub.neurons_lite(1)
        check(len(neurons) == 10 and neurons[0].hotkey == PULSE_TEST and neurons[0].validator_permit,
              "the SDK decodes get_neurons_lite")
        params = sub.get_subnet_hyperparameters(1)
        check(params.weights_rate_limit == 2 and not params.commit_reveal_weights_enabled,
              "the SDK decodes get_subnet_hyperparams_v2")
        wallet = bt.Wallet(name="sdk-check", hotkey="default", path=os.path.join(work, "wallets"))
        keypair = Keypair.create_from_seed(seed)
        wallet.set_hotkey(keypair, encrypt=False, overwrite=True)
        wallet.set_coldkeypub(keypair, overwrite=True)
        result = sub.set_weights(wallet=wallet, netuid=1, uids=[1, 2, 3], weights=[0.2, 0.3, 0.5],
                                 wait_for_inclusion=True, wait_for_finalization=True)
        check(result.success, f"set_weights included and finalized: {result.message}")
        weights = requests.get(f"{admin}/subnets/1/weights").json()["mechanisms"][0]["weights"]
        check(weights[0]["weights"] == [[1, 26214], [2, 39321], [3, 65535]], "the double recorded the SDK's u16 weights")
        requests.patch(f"{admin}/subnets/1", json={"hyperparameters": {"weights_version": 99999999}}).raise_for_status()
        time.sleep(1.5)
        result = sub.set_weights(wallet=wallet, netuid=1, uids=[1, 2], weights=[0.5, 0.5],
                                 wait_for_inclusion=True, max_attempts=1)
        check(not result.success and "IncorrectWeightVersionKey" in result.message,
              "a refused version key comes back by name")
        requests.patch(f"{admin}/subnets/1", json={"hyperparameters": {"weights_version": 0,
                                                                       "commit_reveal_weights_enabled": True}}).raise_for_status()
        time.sleep(1.5)
        result = sub.set_weights(wallet=wallet, netuid=1, uids=[1, 2], weights=[0.5, 0.5],
                                 wait_for_inclusion=True, wait_for_finalization=True, max_attempts=1)
        check(result.success and result.extrinsic_function == "commit_timelocked_weights_extrinsic",
              f"with commit-reveal on the SDK's timelocked commit is included: {result.message}")
        timelocked = requests.get(f"{admin}/subnets/1/commits").json()["mechanisms"][0]["timelocked"]
        check(len(timelocked) == 1 and timelocked[0]["hotkey"] == PULSE_TEST, "the double recorded the timelocked commit")
        print("all checks passed")
    finally:
        chain.terminate()
        chain.wait(timeout=30)


if __name__ == "__main__":
    main()

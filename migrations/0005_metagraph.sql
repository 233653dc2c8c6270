-- The subnet's metagraph as the chain last showed it, for REGISTRATION=metagraph: who holds
-- a UID (may submit), who holds a validator permit and how much stake (may validate).
-- One server process at a time writes it (under a transaction-scoped advisory lock, see
-- server/src/metagraph.rs); every process reads it into memory, so no request waits on the
-- subtensor node or on these tables.

-- One row per netuid: the last successful sync and the attempts since.
create table metagraph_syncs (
    netuid          integer primary key check (netuid between 0 and 65535),
    -- The block the neurons were read at, and its hash (0x + 64 hex digits); null until
    -- the first sync succeeds.
    block           bigint check (block >= 0),
    block_hash      text,
    -- When the neurons below were written (the database's clock, shared by every process).
    synced_at       timestamptz,
    neurons         integer not null default 0 check (neurons >= 0),
    -- The latest attempt, successful or not, and its error: replicas read these to pace
    -- their retries and to say why the metagraph is old.
    last_attempt_at timestamptz not null default now(),
    last_error      text,
    -- Failed attempts since the last success.
    failures        bigint not null default 0 check (failures >= 0)
);

-- The neurons of the last successful sync, replaced as a whole by each sync.
create table metagraph_neurons (
    netuid           integer not null references metagraph_syncs (netuid) on delete cascade,
    uid              integer not null check (uid between 0 and 65535),
    -- SS58 addresses (prefix 42), as requests are signed by.
    hotkey           text not null,
    coldkey          text not null,
    active           boolean not null,
    validator_permit boolean not null,
    -- The hotkey's alpha stake on the subnet in rao (NeuronInfoLite.stake summed). A u64 on
    -- chain; any subnet's whole alpha supply (21 million at 10^9 rao) is a thousandth of
    -- bigint's range, and the writer saturates rather than wraps.
    stake_rao        bigint not null check (stake_rao >= 0),
    last_update      bigint not null check (last_update >= 0),
    primary key (netuid, uid),
    -- A hotkey holds at most one UID on a subnet.
    unique (netuid, hotkey)
);

-- Validation: leased tasks, verdicts, and window scores frozen once published.

-- A task's outcome once enough validators agree, and the window whose scores it counts in:
-- the post's own window while that window's scores are unpublished, else the window in
-- which the deciding verdict arrived (so a late failure still counts, exactly once).
alter table validation_tasks
    add column outcome        text,
    add column decided_at     timestamptz,
    add column counted_window bigint,
    add constraint validation_tasks_outcome_check check (outcome in ('pass', 'fail'));

create index validation_tasks_counted_idx on validation_tasks (counted_window) where outcome is not null;

-- One row per verdict a task needs (VALIDATION_VERDICTS, written with the task). A slot is
-- leased to one validator at a time by updating the row under `for update skip locked`,
-- so concurrent pollers never receive the same slot; an unanswered lease that expires
-- makes the slot free again. `leased_by` is kept after expiry until someone else leases
-- the slot, so a late answer from the same validator is still accepted.
create table validation_slots (
    validation_id    uuid        not null references validation_tasks (validation_id),
    slot             smallint    not null,
    leased_by        text,
    lease_expires_at timestamptz,
    answered_by      text,
    primary key (validation_id, slot)
);

create index validation_slots_open_idx on validation_slots (validation_id, slot) where answered_by is null;

insert into validation_slots (validation_id, slot) select validation_id, 1 from validation_tasks;

-- Every verdict received, one per (task, validator): the key makes re-sent batches
-- idempotent. An inconclusive verdict may later be replaced by a decisive one from the
-- same validator; a decisive verdict is final.
create table validation_verdicts (
    validation_id    uuid        not null references validation_tasks (validation_id),
    validator_hotkey text        not null,
    outcome          text        not null,
    failure_code     text,
    failure_message  text,
    failure_details  jsonb,
    received_block   bigint      not null,
    received_window  bigint      not null,
    received_at      timestamptz not null default now(),
    primary key (validation_id, validator_hotkey),
    constraint validation_verdicts_outcome_check check (outcome in ('pass', 'fail', 'inconclusive'))
);

-- Windows whose scores were published: the row is written, with the scores, in the
-- transaction that first publishes them, and nothing changes them afterwards.
create table window_publications (
    window_index    bigint      primary key,
    published_block bigint      not null,
    published_at    timestamptz not null default now()
);

-- Each miner's score in a published window, with its parts.
create table window_scores (
    window_index       bigint           not null references window_publications (window_index),
    miner_hotkey       text             not null,
    score              double precision not null,
    reward             double precision not null,
    posts              integer          not null,
    failed_validations integer          not null,
    penalty_factor     double precision not null,
    primary key (window_index, miner_hotkey),
    constraint window_scores_range check (score between 0 and 1 and reward between 0 and 1)
);

create index window_scores_miner_idx on window_scores (miner_hotkey, window_index desc);

-- A miner's report lists its newest submissions.
create index submissions_miner_recent_idx on submissions (miner_hotkey, id desc);

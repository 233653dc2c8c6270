-- Pulse coordination server: the state every server process shares.
--
-- Every limit the API promises (the per-window quota, idempotency per (miner_hotkey,
-- post_id), Epistula uuids accepted once) is enforced here, by constraints and row locks,
-- so it holds exactly however many server processes share this database.

-- Hotkeys known to this server and the roles they may act in. A hotkey may hold both
-- roles. With REGISTRATION=open, unlisted hotkeys may submit as miners; listed ones act
-- only in their listed roles.
create table hotkeys (
    hotkey   text        not null,
    role     text        not null,
    added_at timestamptz not null default now(),
    primary key (hotkey, role),
    constraint hotkeys_role_check check (role in ('miner', 'validator'))
);

-- Every accepted post, stored as normalised by the server. One row per
-- (miner_hotkey, post_id): the unique constraint is the idempotency key, and a second
-- submission of the same key is a duplicate (same data) or a conflict (different data).
create table submissions (
    id                      bigint generated always as identity primary key,
    -- Public identifier of the accepted post; validators receive selected posts under it.
    validation_id           uuid             not null unique,
    miner_hotkey            text             not null,
    -- Canonical decimal form (no leading zero, fits u64), so one post has one spelling.
    post_id                 text             not null,
    content                 text             not null,
    -- The post's creation time as the miner reported it (Unix seconds), `date` on the wire.
    post_date               bigint           not null,
    author                  text             not null,
    account_age             bigint           not null,
    retweets                bigint           not null,
    likes                   bigint           not null,
    responses               bigint           not null,
    followers               bigint           not null,
    -- Subnet name -> relevance in [0, 1], as submitted.
    tokens                  jsonb            not null,
    sentiment               double precision not null,
    score                   double precision not null,
    -- The block and window in which the server accepted the post.
    accepted_block          bigint           not null,
    window_index            bigint           not null,
    selected_for_validation boolean          not null,
    accepted_at             timestamptz      not null default now(),
    constraint submissions_miner_post_key unique (miner_hotkey, post_id),
    constraint submissions_post_id_canonical check (post_id ~ '^[1-9][0-9]{0,19}$'),
    constraint submissions_counts_check check (
        account_age >= 0 and retweets >= 0 and likes >= 0 and responses >= 0 and followers >= 0
    ),
    constraint submissions_sentiment_range check (sentiment between -1 and 1),
    constraint submissions_score_range check (score between 0 and 1)
);

-- Window scores and miner views read a window's posts per hotkey.
create index submissions_window_miner_idx on submissions (window_index, miner_hotkey);

-- New posts stored per (miner hotkey, window). A submission increments its row with a
-- conditional upsert (`... do update ... where used < quota`): the row lock serialises
-- concurrent submissions of one hotkey, so the quota is exact across processes.
create table window_quota (
    miner_hotkey text    not null,
    window_index bigint  not null,
    used         integer not null,
    primary key (miner_hotkey, window_index),
    constraint window_quota_used_check check (used >= 0)
);

-- Posts sampled for validation, written in the same transaction as the post itself.
create table validation_tasks (
    validation_id uuid        primary key references submissions (validation_id),
    selected_at   timestamptz not null default now()
);

-- Epistula request uuids already accepted. The primary key makes a replay fail on any
-- server process. Rows older than the freshness window are pruned: a request that old is
-- refused as stale before its uuid is looked at.
create table epistula_nonces (
    uuid      uuid        primary key,
    signed_by text        not null,
    signed_at timestamptz not null
);

create index epistula_nonces_signed_at_idx on epistula_nonces (signed_at);

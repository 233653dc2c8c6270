-- Incentives: credibility carried across windows, posts credited once, windows published
-- only when final.

-- A miner's credibility in the window (the factor earlier failures still apply, 1 when
-- none) and how many of its posts were copies of another hotkey's earlier submission,
-- which score 0. Rows published before this migration had neither rule: 1 and 0.
alter table window_scores
    add column credibility double precision not null default 1,
    add column copies      integer          not null default 0,
    add constraint window_scores_credibility_range check (credibility between 0 and 1),
    add constraint window_scores_copies_check check (copies between 0 and posts);

-- Whether a post was submitted first: the earliest (accepted_block, id) among the
-- submissions of its post_id, looked up for every post of a window being published.
create index submissions_post_order_idx on submissions (post_id, accepted_block, id);

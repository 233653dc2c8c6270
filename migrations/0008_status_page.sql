-- What the status page at / reads besides the signal.

-- Submissions refused with 429 per (hotkey, window): the quota row of a hotkey that used
-- its quota exists, so the refusal is counted on it; contention stays per hotkey.
alter table window_quota add column refused integer not null default 0;

-- Validators' recent activity reads the verdicts of the last windows.
create index validation_verdicts_received_window_idx on validation_verdicts (received_window);

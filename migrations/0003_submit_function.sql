-- The acceptance of one submission as one statement: one round trip and one commit per
-- request instead of one per step (the Epistula uuid, the role lookup, the insert, the
-- quota, the validation task). The logic and the locks are those the server used to run
-- as separate statements in a transaction:
--
-- 1. Spend the Epistula uuid (null for X-Auth): a uuid seen before ends the call with
--    `replay`. It stays spent whatever the outcome, as the function always commits.
-- 2. Check the miner's roles against the registration mode: `forbidden`.
-- 3. Insert the post unless (miner_hotkey, post_id) exists: `exists` (the caller compares
--    the stored data to tell a duplicate from a conflict). A concurrent insert of the same
--    key waits on the unique index until this transaction ends.
-- 4. Take one unit of the window's quota with a conditional upsert, whose row lock
--    serialises one hotkey's submissions across processes. None left: the post just
--    inserted is deleted again (a delete, not a rollback, so the uuid stays spent) and the
--    answer is `rate_limited`.
-- 5. Queue the validation task and its slots when the post was selected: `new`.
--
-- Output columns are prefixed so they never shadow table columns inside the function.
create function pulse_submit(
    p_nonce               uuid,
    p_signed_by           text,
    p_signed_at_ms        double precision,
    p_closed_registration boolean,
    p_validation_id       uuid,
    p_miner               text,
    p_post_id             text,
    p_content             text,
    p_date                bigint,
    p_author              text,
    p_account_age         bigint,
    p_retweets            bigint,
    p_likes               bigint,
    p_responses           bigint,
    p_followers           bigint,
    p_tokens              jsonb,
    p_sentiment           double precision,
    p_score               double precision,
    p_block               bigint,
    p_window              bigint,
    p_quota               integer,
    p_selected            boolean,
    p_verdicts            integer
) returns table (r_outcome text, r_used integer, r_roles text[])
language plpgsql
as $$
declare
    v_roles text[];
    v_id    bigint;
    v_used  integer;
begin
    if p_nonce is not null then
        insert into epistula_nonces (uuid, signed_by, signed_at)
        values (p_nonce, p_signed_by, to_timestamp(p_signed_at_ms / 1000))
        on conflict (uuid) do nothing;
        if not found then
            return query select 'replay'::text, 0, '{}'::text[];
            return;
        end if;
    end if;

    select coalesce(array_agg(h.role order by h.role), '{}') into v_roles
    from hotkeys h where h.hotkey = p_miner;
    if not ('miner' = any(v_roles) or (not p_closed_registration and cardinality(v_roles) = 0)) then
        return query select 'forbidden'::text, 0, v_roles;
        return;
    end if;

    insert into submissions (
        validation_id, miner_hotkey, post_id, content, post_date, author, account_age,
        retweets, likes, responses, followers, tokens, sentiment, score,
        accepted_block, window_index, selected_for_validation)
    values (
        p_validation_id, p_miner, p_post_id, p_content, p_date, p_author, p_account_age,
        p_retweets, p_likes, p_responses, p_followers, p_tokens, p_sentiment, p_score,
        p_block, p_window, p_selected)
    on conflict (miner_hotkey, post_id) do nothing
    returning id into v_id;
    if v_id is null then
        select q.used into v_used from window_quota q
        where q.miner_hotkey = p_miner and q.window_index = p_window;
        return query select 'exists'::text, coalesce(v_used, 0), v_roles;
        return;
    end if;

    insert into window_quota as q (miner_hotkey, window_index, used)
    values (p_miner, p_window, 1)
    on conflict (miner_hotkey, window_index) do update set used = q.used + 1
    where q.used < p_quota
    returning q.used into v_used;
    if v_used is null then
        delete from submissions where id = v_id;
        select q.used into v_used from window_quota q
        where q.miner_hotkey = p_miner and q.window_index = p_window;
        return query select 'rate_limited'::text, coalesce(v_used, 0), v_roles;
        return;
    end if;

    if p_selected then
        insert into validation_tasks (validation_id) values (p_validation_id);
        insert into validation_slots (validation_id, slot)
        select p_validation_id, s::smallint from generate_series(1, p_verdicts) as s;
    end if;
    return query select 'new'::text, v_used, v_roles;
end;
$$;

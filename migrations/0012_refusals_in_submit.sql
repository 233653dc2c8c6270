-- pulse_submit counts a submission refused with 429 itself (window_quota.refused, which the
-- status page reads), in the statement that already reads the quota row: the server used
-- to count it with a second statement after the call, a second round trip per refusal
-- that a failure between the two could lose. Otherwise unchanged from 0003.
create or replace function pulse_submit(
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
        -- The row exists (its quota is used up) and this transaction holds its lock from
        -- the upsert above: count the refusal on it in the same statement that reads it.
        update window_quota q set refused = q.refused + 1
        where q.miner_hotkey = p_miner and q.window_index = p_window
        returning q.used into v_used;
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

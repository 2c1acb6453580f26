-- purpose: The learning rows of the forecast: every deal open at each published snapshot, as it stood that day, with how it ended.
-- grain: one row per (snapshot, deal open in it), snapshots up to the current one
-- params:
--   $first      date    required  the oldest snapshot day to read
--   $regions    text[]  []        only deals of reps in these regions (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- Stage, amount, expected close date and forecast category are the ones the snapshot held (what was known that
-- day); pushes counts the snapshots up to that day in which the expected close date moved later than in the
-- snapshot before (while the deal was open). The rows and their pushes come from the stored derived table
-- forecast_history (one file, written when the snapshot was published). The outcome (final_status,
-- final_close_date, final_amount) is the current snapshot's. The group filters apply to the deal as it is now, so
-- the rows of a group are the same deals whose bookings count as the group's.
with
current_deals as (
    select d.opportunity_id, d.owner_id as current_owner_id, d.owner_name, d.team, d.region, d.account_name,
           d.segment, d.created_date, d.status as final_status,
           d.close_date as final_close_date, coalesce(d.amount, 0) as final_amount
    from deals d
    where {{ deal_filters(d) }}
),
history as (
    -- A past owner the viewer may not see stays hidden, pushes included: only the rows the viewer's scope would
    -- have shown that day (a visible rep then, or the deal's visible owner now).
    select f.as_of, f.opportunity_id, f.owner_id, f.stage, f.amount, f.expected_close_date, f.forecast_category,
           f.pushes,
           f.owner_id in (select rep_id from reps) or f.owner_id = c.current_owner_id as shown
    from forecast_history f
    join current_deals c on c.opportunity_id = f.opportunity_id
),
partly_hidden as (
    select h.opportunity_id
    from history h
    group by h.opportunity_id
    having not bool_and(h.shown)
),
recounted as (
    -- the stored pushes count the hidden rows too: count again over the shown rows of those few deals
    select v.as_of, v.opportunity_id, v.owner_id, v.stage, v.amount, v.expected_close_date, v.forecast_category,
           cast(sum(case when v.expected_close_date > v.previous_expected then 1 else 0 end)
                over (partition by v.opportunity_id order by v.as_of
                      rows between unbounded preceding and current row) as bigint) as pushes
    from (
        select h.*, lag(h.expected_close_date) over (partition by h.opportunity_id order by h.as_of)
                   as previous_expected
        from history h
        where h.shown and h.opportunity_id in (select opportunity_id from partly_hidden)
    ) v
),
seen as (
    select h.as_of, h.opportunity_id, h.owner_id, h.stage, h.amount, h.expected_close_date, h.forecast_category,
           h.pushes
    from history h
    where h.opportunity_id not in (select opportunity_id from partly_hidden)
    union all
    select r.as_of, r.opportunity_id, r.owner_id, r.stage, r.amount, r.expected_close_date, r.forecast_category,
           r.pushes
    from recounted r
),
final as (
    select s.as_of, s.opportunity_id, s.owner_id, c.current_owner_id, c.owner_name, c.team, c.region,
           c.account_name, c.segment, s.stage,
           coalesce(s.amount, 0) as amount, s.expected_close_date, s.forecast_category,
           s.pushes, c.created_date, c.final_status, c.final_close_date, c.final_amount,
           st.probability as stage_probability
    from seen s
    join current_deals c on c.opportunity_id = s.opportunity_id
    left join stages st on st.stage = s.stage
    where s.as_of >= cast($first as date)
)
select * from final
order by as_of, opportunity_id

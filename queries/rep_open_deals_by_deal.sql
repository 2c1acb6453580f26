-- purpose: The open deals of some reps or a team on the snapshot date, for the rep profile and the review pack.
-- grain: one row per open deal
-- params:
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $as_of      date    required  the snapshot date, for each deal's age
with
inputs as (
    select
        cast($reps as varchar[]) as f_reps,
        cast($teams as varchar[]) as f_teams,
        cast($as_of as date) as as_of
),
final as (
    select
        d.opportunity_id, d.owner_id, d.owner_name, d.account_name, d.product_name, d.stage,
        d.stage_position, d.amount, d.stage_probability, d.amount * d.stage_probability as weighted_amount,
        d.created_date, d.expected_close_date,
        cast(i.as_of - d.created_date as bigint) as age_days,
        d.expected_close_date < i.as_of as overdue
    from deals d
    cross join inputs i
    where d.status = 'open'
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
)
select * from final
order by amount desc nulls last, opportunity_id

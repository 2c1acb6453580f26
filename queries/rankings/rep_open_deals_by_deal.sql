-- purpose: The open deals of some reps or a team on the snapshot date, for the rep profile and the review pack.
-- grain: one row per open deal
-- params:
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $as_of      date    required  the snapshot date, for each deal's age
-- The parameters are written into the predicates, so they reach the deals scan.
with
final as (
    select
        d.opportunity_id, d.owner_id, d.owner_name, d.account_name, d.product_name, d.stage,
        d.stage_position, d.amount, d.stage_probability, d.amount * d.stage_probability as weighted_amount,
        d.amount_original, d.currency,
        d.created_date, d.expected_close_date,
        cast(cast($as_of as date) - d.created_date as bigint) as age_days,
        d.expected_close_date < cast($as_of as date) as overdue
    from deals d
    where d.status = 'open'
      and (len(cast($reps as varchar[])) = 0 or list_contains(cast($reps as varchar[]), d.owner_id))
      and (len(cast($teams as varchar[])) = 0 or list_contains(cast($teams as varchar[]), d.team))
)
select * from final
order by amount desc nulls last, opportunity_id

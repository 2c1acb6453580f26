-- purpose: The closed deals behind one win-rate group (drill-down), with the size band each falls in.
-- grain: one row per deal closed in the period in group $group of dimension $by (all closed deals when $group is null)
-- params:
--   $by          text(org|segment|industry|source|product|region|team|size_band) segment  dimension: org, segment, industry, source, product, region, team or size_band
--   $group       text    null     a group_key from win_rate_by_group (e.g. SMB, P1, band_2); null = every group
--   $band_edges  text[]  []       deal-size band edges in money (empty = the quartiles, as in win_rate_by_group)
--   $start       date    null     first day deals were closed; null = no lower bound
--   $end         date    null     last day deals were closed; null = no upper bound
--   $regions     text[]  []       only deals of reps in these regions (empty = all)
--   $teams       text[]  []       only deals of reps in these teams (empty = all)
--   $reps        text[]  []       only deals owned by these rep_ids (empty = all)
--   $products    text[]  []       only deals of these product_ids (empty = all)
--   $segments    text[]  []       only deals with accounts in these segments (empty = all)
--   $sources     text[]  []       only deals from these sources (empty = all)
-- Groups and bands are computed exactly as in win_rate_by_group.sql, so the list has as many deals as the group.
with
inputs as (
    select
        cast($by as varchar) as by_dim,
        cast($group as varchar) as pick,
        cast($band_edges as varchar[]) as raw_edges,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        1.959963984540054 as z
),
closed as (
    select d.*
    from deals d
    cross join inputs i
    where d.status in ('won', 'lost') and d.close_date between i.d_start and i.d_end
      and {{ deal_filters(d) }}
),
{{ win_rate_groups() }},
final as (
    select
        coalesce(g.group_key, '(none)') as group_key, g.opportunity_id, g.account_name, g.owner_name, g.team,
        g.region, g.segment, g.industry, g.product_name, g.source, g.created_date, g.close_date,
        cycle_days(g.created_date, g.close_date) as cycle_days, g.status, g.amount, g.lost_reason
    from grouped g
    cross join inputs i
    where i.pick is null or coalesce(g.group_key, '(none)') = i.pick
)
select * from final
order by status desc, amount desc nulls last, opportunity_id

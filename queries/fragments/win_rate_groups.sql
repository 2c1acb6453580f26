-- fragment: win_rate_groups()
-- The CTEs that put closed deals into the groups of win_rate_by_group and deals_by_win_rate_group, so the deal list
-- of a group has exactly the deals the group's rate counts. Include it as a CTE (after `closed as (...),`, before
-- the next one): `{{ win_rate_groups() }}`. It reads:
--   closed  the deals closed in the period (deals view columns), already filtered
--   inputs  by_dim (the $by dimension) and raw_edges ($band_edges, text[])
-- and defines quartiles, edges (the band edges: the given ones, or the quartiles of the closed amounts rounded to
-- 2 significant digits), banded (closed plus its band number, 1 = below the first edge) and grouped (banded plus
-- group_key and group_label; a size band's key is band_<n>).
quartiles as (
    select quantile_cont(amount, [0.25, 0.5, 0.75]) as q from closed where amount > 0
),
edges as (
    select list_sort(list_distinct(
        case
            when len(i.raw_edges) > 0 then list_filter(list_transform(i.raw_edges, lambda e: try_cast(e as double)), lambda x: x > 0)
            else list_transform(
                list_filter(coalesce(q.q, []), lambda v: v > 0),
                lambda v: round(cast(v as double), 1 - cast(floor(log10(v)) as integer)))
        end
    )) as e
    from inputs i
    cross join quartiles q
),
banded as (
    select
        c.*,
        case when c.amount is not null then len(list_filter(g.e, lambda x: x <= c.amount)) + 1 end as band
    from closed c
    cross join edges g
),
grouped as (
    select
        b.*,
        case i.by_dim
            when 'org' then 'org'
            when 'segment' then b.segment
            when 'industry' then b.industry
            when 'source' then b.source
            when 'product' then b.product_id
            when 'region' then b.region
            when 'team' then b.team
            when 'size_band' then 'band_' || cast(b.band as varchar)
        end as group_key,
        case i.by_dim
            when 'org' then 'All'
            when 'segment' then b.segment
            when 'industry' then b.industry
            when 'source' then b.source
            when 'product' then b.product_name
            when 'region' then b.region
            when 'team' then b.team
            when 'size_band' then 'band ' || cast(b.band as varchar)
        end as group_label
    from banded b
    cross join inputs i
)

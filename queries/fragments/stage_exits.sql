-- fragment: stage_exits()
-- The moves out of an open stage, for the rep scorecard's stage exits and forward moves: what follows `from`, with a
-- where, over the raw (unscoped) views of a derived table. Aliases: sc (the stage change), o (its deal, whose owner
-- the move counts for), f and t (the stages it left and entered). Include it after `from`:
-- `select o.owner_id as rep_id, count(*) as stage_exits from {{ stage_exits() }} group by all`.
raw_stage_changes sc
join raw_opportunities o on o.opportunity_id = sc.opportunity_id
join raw_stages f on f.stage = sc.from_stage
join raw_stages t on t.stage = sc.to_stage
where not f.is_won and not f.is_lost

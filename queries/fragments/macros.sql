-- The shared formulas, as DuckDB macros: the runner runs this file on every connection before it creates the views
-- (and before the lockdown), so every named query and derived table can call them. A macro is expanded where it is
-- called, so a filter written with one still reaches the scan. The stored derived tables' fingerprints include this
-- file: changing a formula recomputes them.
--   win_rate(won, lost)                      won / (won + lost); null when nothing closed
--   cycle_days(created, closed)              days from creation to close (closed - created)
--   attainment(booked, target)               booked / target, a missing booking counting as 0; null without a target
--   pipeline_coverage(pipeline, target, booked)
--                                            pipeline / what is left to book (target - booked, at least 0), missing
--                                            pipeline or booking counting as 0; null when nothing is left to book
create macro win_rate(won, lost) as won / nullif(won + lost, 0);
create macro cycle_days(created, closed) as closed - created;
create macro attainment(booked, target) as coalesce(booked, 0) / nullif(target, 0);
create macro pipeline_coverage(pipeline, target, booked) as
    coalesce(pipeline, 0) / nullif(greatest(target - coalesce(booked, 0), 0), 0);

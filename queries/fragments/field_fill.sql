-- fragment: field_fill(t)
-- How many rows of table `t` fill each of its fields: one row per column of `t`, with `field` (its name),
-- `n_rows` (the table's rows) and `filled` (the rows with a value). Use it as a relation:
-- `select field, n_rows, filled from ({{ field_fill(reps) }})`.
unpivot (select count(*) as n_rows, count(columns(*)) from {t})
on columns(* exclude (n_rows)) into name field value filled

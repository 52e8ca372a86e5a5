-- Stage `latest` of pipelines/planes.yaml: one row per plane, from the newest
-- registry snapshot in the batch (a run may pick up several new snapshot files).
-- snapshot_date itself is dropped: it changes with every drop, and the SCD2 load
-- must open a new version only when a plane's attributes change.
SELECT * EXCLUDE (snapshot_date)
FROM extract
QUALIFY row_number() OVER (PARTITION BY tailnum ORDER BY snapshot_date DESC) = 1

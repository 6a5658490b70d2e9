-- The id of the latest run recorded in the published database (null when there is none).
SELECT max_by(run_id, started_at) AS run_id
FROM runs

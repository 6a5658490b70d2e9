-- The run a report is about (run $run_id): status, timings and counts as JSON, warnings. Counts and names only.
SELECT run_id, as_of, started_at, finished_at, status, message, sources_ok, sources_failed, leads_published,
       warnings, stage_counts, timings
FROM runs
WHERE run_id = $run_id

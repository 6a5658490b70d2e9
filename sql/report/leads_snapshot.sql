-- The published `leads` table: the run that last published it and how many leads it holds (all, actionable,
-- suppressed, actionable without a known equity). Leads in a final status keep the run_id and as_of of the
-- night they were last scored, so the publishing run comes from `runs`.
WITH publishing AS (
    SELECT run_id, as_of FROM runs
    WHERE status IN ('published', 'partial')
    ORDER BY started_at DESC
    LIMIT 1
)

SELECT p.run_id, p.as_of, count(*) AS leads,
       count(*) FILTER (WHERE l.actionable) AS actionable,
       count(*) FILTER (WHERE l.suppressed) AS suppressed,
       count(*) FILTER (WHERE l.actionable AND l.equity_pct IS NULL) AS actionable_unknown_equity,
       count(*) FILTER (WHERE l.actionable AND l.days_to_auction IS NULL) AS actionable_unknown_days
FROM leads l, publishing p
GROUP BY ALL

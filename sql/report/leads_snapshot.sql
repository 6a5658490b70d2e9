-- The published `leads` table: the run that last published it and how many leads it holds (all, actionable,
-- suppressed, actionable without a known equity). Leads in a final status keep the run_id and as_of of the
-- night they were last scored, so the snapshot's run is the newest row's (run ids start with the as-of date
-- and the start time, so the greatest is the latest).
SELECT max(run_id) AS run_id, max(as_of) AS as_of, count(*) AS leads,
       count(*) FILTER (WHERE actionable) AS actionable,
       count(*) FILTER (WHERE suppressed) AS suppressed,
       count(*) FILTER (WHERE actionable AND equity_pct IS NULL) AS actionable_unknown_equity,
       count(*) FILTER (WHERE actionable AND days_to_auction IS NULL) AS actionable_unknown_days
FROM leads
HAVING count(*) > 0

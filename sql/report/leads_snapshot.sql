-- Which run published the `leads` table, and how many leads it holds (all, actionable, suppressed,
-- actionable without a known equity).
SELECT run_id, as_of, count(*) AS leads, count(*) FILTER (WHERE actionable) AS actionable,
       count(*) FILTER (WHERE suppressed) AS suppressed,
       count(*) FILTER (WHERE actionable AND equity_pct IS NULL) AS actionable_unknown_equity,
       count(*) FILTER (WHERE actionable AND days_to_auction IS NULL) AS actionable_unknown_days
FROM leads
GROUP BY ALL
ORDER BY leads DESC, run_id

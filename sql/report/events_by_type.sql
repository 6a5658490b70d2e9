-- What changed in run $run_id: change-feed events per type, and how many distinct leads they concern.
SELECT event_type, count(*) AS events, count(DISTINCT lead_id) AS leads
FROM lead_events
WHERE run_id = $run_id
GROUP BY ALL
ORDER BY events DESC, event_type

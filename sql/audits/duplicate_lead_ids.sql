-- Audit: every lead_id appears once. Returns offending rows (must be none).
SELECT lead_id, count(*) AS n FROM candidate_leads GROUP BY lead_id HAVING count(*) > 1

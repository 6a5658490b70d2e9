-- Audit: the new lead count has not collapsed against the last published run (an empty or truncated
-- delivery must never wipe the leads). Parameters: $min_ratio (DOUBLE, e.g. 0.5).
WITH last_run AS (
    SELECT leads_published FROM runs
    WHERE status IN ('published', 'partial') AND leads_published > 0
    ORDER BY finished_at DESC
    LIMIT 1
),

candidate AS (
    SELECT count(*) AS n FROM candidate_leads
)

SELECT c.n AS candidate_leads, l.leads_published AS last_published
FROM candidate c, last_run l
WHERE c.n < l.leads_published * $min_ratio

-- Stored cases that share a case key or a window group with the filings being regrouped
-- (relation `regrouped`: case_key, window_group): their filings must be regrouped together.
SELECT DISTINCT c.case_key
FROM case_filings c
WHERE c.case_key IN (SELECT case_key FROM regrouped)
   OR c.window_group IN (SELECT window_group FROM regrouped WHERE window_group IS NOT NULL)
ORDER BY c.case_key

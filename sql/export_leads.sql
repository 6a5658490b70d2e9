-- The published leads for other systems, suppressed owners excluded, in lead_id order: every lead, or only the
-- open ones (status not in $final). Parameters: $open_only (BOOLEAN), $final (VARCHAR[]).
SELECT *
FROM published_leads
WHERE NOT suppressed
  AND (NOT $open_only OR NOT list_contains($final, status))
ORDER BY lead_id

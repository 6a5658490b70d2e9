-- Audit: scores are 0-100 and inactive leads score 0.
SELECT lead_id, score FROM candidate_leads
WHERE score NOT BETWEEN 0 AND 100 OR (NOT actionable AND score <> 0)

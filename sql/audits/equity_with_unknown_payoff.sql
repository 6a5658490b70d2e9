-- Audit: no lead claims equity while its payoff is unknown (the fake-100%-equity defect).
SELECT lead_id FROM candidate_leads
WHERE (payoff_source = 'unknown' OR estimated_payoff IS NULL)
  AND (equity_amount IS NOT NULL OR equity_band <> 'unknown' OR strategy <> 'unknown')

-- Leads that appeared in the latest run (the change feed's new_lead events), newest first.
CREATE OR REPLACE VIEW new_since_yesterday AS
SELECT l.lead_id, l.state, l.county_fips, l.situs_address, l.owner_name, l.stage, l.status, l.first_filing_date,
       l.auction_date, l.days_to_auction, l.equity_pct, l.strategy, l.score, l.tier
FROM lead_events e
JOIN leads l USING (lead_id)
WHERE e.event_type = 'new_lead'
  AND e.run_id = (SELECT run_id FROM runs WHERE status IN ('published', 'partial') ORDER BY started_at DESC LIMIT 1)
  AND NOT l.suppressed
ORDER BY l.score DESC, l.lead_id

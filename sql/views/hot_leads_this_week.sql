-- Actionable leads with a filing in the last 7 days before the run's as-of date, or a sale within 14 days.
CREATE OR REPLACE VIEW hot_leads_this_week AS
SELECT lead_id, state, county_fips, situs_address, owner_name, stage, status, latest_filing_date, auction_date,
       days_to_auction, equity_pct, strategy, score, tier, reasons
FROM leads
WHERE actionable AND NOT suppressed AND lane = 'mortgage'
  AND (latest_filing_date >= as_of - INTERVAL 7 DAY OR days_to_auction BETWEEN 0 AND 14)
ORDER BY score DESC, days_to_auction NULLS LAST, lead_id

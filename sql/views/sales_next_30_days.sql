-- Leads whose auction is within the next 30 days of the run's as-of date.
CREATE OR REPLACE VIEW sales_next_30_days AS
SELECT lead_id, state, county_fips, situs_address, owner_name, auction_date, auction_date_source,
       days_to_auction, equity_pct, strategy, score, tier
FROM leads
WHERE actionable AND NOT suppressed AND days_to_auction BETWEEN 0 AND 30
ORDER BY auction_date, lead_id

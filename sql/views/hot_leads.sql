-- Actionable A/B leads with healthy or thin equity, most urgent first.
CREATE OR REPLACE VIEW hot_leads AS
SELECT lead_id, state, county_fips, situs_address, owner_name, stage, status, auction_date, days_to_auction,
       estimated_value, estimated_payoff, equity_pct, strategy, score, tier, reasons
FROM leads
WHERE actionable AND NOT suppressed AND tier IN ('A', 'B') AND lane = 'mortgage'
ORDER BY score DESC, days_to_auction NULLS LAST, lead_id

-- The 20 best actionable mortgage-lane leads (not suppressed), as in the CLI's top ten: highest score, then the
-- soonest auction. No names, addresses or parcel ids: the report is forwarded by email.
SELECT lead_id, state || ' ' || county_fips AS county, stage, status, auction_date, auction_date_source,
       days_to_auction, estimated_value, estimated_payoff, equity_pct, strategy, score, tier
FROM leads
WHERE actionable AND NOT suppressed AND lane = 'mortgage'
ORDER BY score DESC, days_to_auction NULLS LAST, lead_id
LIMIT 20

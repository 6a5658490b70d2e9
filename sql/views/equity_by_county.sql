-- Actionable leads per county and equity band, with the median equity share.
CREATE OR REPLACE VIEW equity_by_county AS
SELECT state, county_fips, equity_band, count(*) AS leads, median(equity_pct) AS median_equity_pct
FROM leads
WHERE actionable
GROUP BY ALL
ORDER BY state, county_fips, equity_band

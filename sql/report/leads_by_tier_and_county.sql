-- Published leads per county and tier (A-D are actionable; `inactive` are sold, cancelled or stale cases).
SELECT state || ' ' || county_fips AS county, tier, count(*) AS leads
FROM leads
GROUP BY ALL
ORDER BY county, tier

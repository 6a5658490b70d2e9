-- The change feed with the lead it concerns: what changed overnight, per run.
CREATE OR REPLACE VIEW changes AS
SELECT e.as_of, e.run_id, e.event_type, e.old_value, e.new_value, l.lead_id, l.state, l.county_fips,
       l.situs_address, l.owner_name, l.status, l.auction_date, l.score, l.tier, l.suppressed
FROM lead_events e
JOIN leads l USING (lead_id)
ORDER BY e.as_of DESC, l.score DESC, l.lead_id, e.event_type

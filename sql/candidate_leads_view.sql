-- The candidate snapshot, as a view: the published leads, with tonight's scored rows (candidate_rows) in
-- place of theirs and the leads of vanished cases (candidate_removed) left out.
CREATE OR REPLACE VIEW candidate_leads AS
SELECT * FROM published_leads
WHERE lead_id NOT IN (SELECT lead_id FROM candidate_rows)
  AND lead_id NOT IN (SELECT lead_id FROM candidate_removed)
UNION ALL BY NAME
SELECT * FROM candidate_rows

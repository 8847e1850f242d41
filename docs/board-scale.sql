-- Synthetic population for checking the at-risk board at scale on PostgreSQL:
-- 1,000,000 preserved requests of 100 agencies to 50 providers, 3,000,000 deadlines.
-- Run on an empty database after `mlat migrate` (see docs/deadlines.md, "At scale").
INSERT INTO jurisdictions VALUES ('GB','UK','Europe/London','["budapest"]', now(), '[]'), ('IE','Ireland','Europe/Dublin','["budapest"]', now(), '[]');
INSERT INTO organisations SELECT 'agency-'||g, 'Agency '||g, 'agency', 'GB', NULL, '{}', now() FROM generate_series(1,100) g;
INSERT INTO organisations SELECT 'provider-'||g, 'Provider '||g, 'provider', 'IE', 'x@y.z', '{}', now() FROM generate_series(1,50) g;
INSERT INTO organisations VALUES ('ca-gb','GB CA','central_authority','GB',NULL,'{}',now());
INSERT INTO users VALUES ('u1','u1@x.y','U','liaison_officer','agency-1','x',true,now(),now());
INSERT INTO cases VALUES ('c1','agency-1','R1','t','[]','s','normal','u1',now(),now());
INSERT INTO requests (id, reference, case_id, agency_id, issuing_jurisdiction, created_by, kind, legal_basis, route, responder_id, executing_jurisdiction, data_categories, identifiers, follow_up_intent, emergency, non_disclosure, status, version, submitted_at, transmitted_at, extension_requested, extensions_granted, response, internal_notes, created_at, updated_at)
SELECT 'r'||g, 'R-'||g, 'c1', 'agency-'||(g%100+1), 'GB', 'u1', 'preservation', 'provider-voluntary', 'direct', 'provider-'||(g%50+1), 'IE', '[]', '[]', true, false, false, 'preserved', 3, now(), now(), false, 0, '{}', '{}', now(), now()
FROM generate_series(1,1000000) g;
INSERT INTO deadlines SELECT 'd'||g||'-'||k, 'r'||g, 'agency-'||(g%100+1), 'GB', 'provider-'||(g%50+1), true, true, kind, now(), now() + ((g % 2000) || ' hours')::interval + (k || ' minutes')::interval, CASE WHEN g % 3 = 0 THEN 'met' ELSE 'open' END, 'x', 'x', 'Europe/Dublin', 'c', 'verified', NULL, now()
FROM generate_series(1,1000000) g, (VALUES (1,'preservation_expires'),(2,'follow_up_due'),(3,'retention_risk')) AS t(k, kind);
ANALYZE;

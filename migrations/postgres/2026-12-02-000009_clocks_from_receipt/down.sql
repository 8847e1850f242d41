DROP TABLE settings;
ALTER TABLE requests DROP COLUMN cybertipline_submitted_at;

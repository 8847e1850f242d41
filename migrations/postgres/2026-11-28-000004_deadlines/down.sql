DROP TABLE deadlines;
ALTER TABLE jurisdictions DROP COLUMN holidays;

DROP TABLE account_links;
ALTER TABLE users DROP COLUMN org_admin;

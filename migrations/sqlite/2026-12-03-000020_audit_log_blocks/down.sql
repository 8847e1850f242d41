DROP TABLE audit_log_blocks;

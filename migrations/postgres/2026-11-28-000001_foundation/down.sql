DROP TABLE refresh_tokens;
DROP TABLE login_throttle;
DROP TABLE users;
DROP TABLE organisations;
DROP TABLE jurisdictions;

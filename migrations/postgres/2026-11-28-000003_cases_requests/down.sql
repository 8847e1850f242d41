DROP TABLE requests;
DROP TABLE cases;

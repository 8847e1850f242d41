DROP TABLE account_proposals;

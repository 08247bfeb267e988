-- Every paid order mails the operators: find them without reading every user.
CREATE INDEX users_operators_idx ON users (id) WHERE is_operator;

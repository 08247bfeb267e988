-- The enabled payment methods are read as `Paymode` values: an unknown one would be an error
-- at every page, so the column keeps to the known ones, as bills.paymode does.
ALTER TABLE settings
    ADD CONSTRAINT settings_paymodes_known CHECK (paymodes <@ ARRAY['test', 'transfer', 'free']::TEXT[]);

-- A Confirm pressed again (after a crash, a timeout, a double click) finds the bill its
-- first press placed: one bill per customer and order form.
ALTER TABLE bills ADD COLUMN submission_key TEXT;
CREATE UNIQUE INDEX bills_submission_key ON bills (customer_id, submission_key)
    WHERE submission_key IS NOT NULL;

-- Online orders nobody paid are cancelled after a delay; found by age.
CREATE INDEX bills_placed_age_idx ON bills (created_at) WHERE state = 'PLACED';

-- Every instance keeps the catalogue in memory for display; any change to it, by whichever
-- instance or tool, tells them all at once (LISTEN catalogue_changed).
CREATE FUNCTION notify_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalogue_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER products_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();
CREATE TRIGGER categories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON categories
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();
CREATE TRIGGER taxes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON taxes
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();

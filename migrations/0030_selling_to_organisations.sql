-- Issue 11 (first part): the seller's legal identity and bank details, buyers' B2B details,
-- gap-free invoice numbers, the tax treatment and accepted conditions recorded per bill.

ALTER TABLE settings
    ADD COLUMN seller_legal_name     TEXT NOT NULL DEFAULT '',
    ADD COLUMN seller_address        TEXT NOT NULL DEFAULT '',
    -- The seller's country decides which VAT applies (see domain::tax_rules).
    ADD COLUMN seller_country        TEXT NOT NULL DEFAULT 'FR',
    ADD COLUMN seller_company_number TEXT NOT NULL DEFAULT '',
    ADD COLUMN seller_vat_number     TEXT NOT NULL DEFAULT '',
    ADD COLUMN bank_iban             TEXT NOT NULL DEFAULT '',
    ADD COLUMN bank_bic              TEXT NOT NULL DEFAULT '',
    ADD COLUMN bank_holder           TEXT NOT NULL DEFAULT '',
    ADD COLUMN invoice_prefix        TEXT NOT NULL DEFAULT 'F';

ALTER TABLE customers
    ADD COLUMN vat_number    TEXT NOT NULL DEFAULT '',
    ADD COLUMN phone         TEXT NOT NULL DEFAULT '',
    -- The buyer's purchase-order reference for the order being placed; copied onto the bill.
    ADD COLUMN po_reference  TEXT NOT NULL DEFAULT '';

-- One row per year; the paying transaction takes the row's lock while it draws the next
-- number, so numbers are consecutive with no gap (a sequence would leave gaps on rollback).
CREATE TABLE invoice_counters (
    year  INTEGER PRIMARY KEY,
    last  BIGINT NOT NULL CHECK (last >= 0)
);

ALTER TABLE bills
    -- Given once, when the bill is paid; never for declined, cancelled or awaiting bills.
    ADD COLUMN invoice_number  TEXT UNIQUE,
    ADD COLUMN tax_treatment   TEXT NOT NULL DEFAULT 'standard'
                               CHECK (tax_treatment IN ('standard', 'reverse_charge', 'export')),
    ADD COLUMN buyer_vat_number TEXT NOT NULL DEFAULT '',
    ADD COLUMN po_reference    TEXT NOT NULL DEFAULT '',
    -- Hash of the sales conditions the buyer accepted (empty: there were none).
    ADD COLUMN terms_version   TEXT NOT NULL DEFAULT '';

-- Stripe tells of a refund that failed by the refund's id: found through this index.
CREATE INDEX refunds_provider_idx ON refunds (provider_refund_id)
    WHERE provider_refund_id IS NOT NULL;

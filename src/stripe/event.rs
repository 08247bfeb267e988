//! The parts of Stripe's objects the shop reads. Unknown fields are ignored: Stripe adds
//! fields without a new API version.

use std::collections::HashMap;

use serde::Deserialize;

/// A Checkout Session, as created and as carried by `checkout.session.*` events.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    /// Where the buyer pays; absent once the session is complete or expired.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub livemode: bool,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    /// In the currency's minor unit.
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lower case (`eur`).
    #[serde(default)]
    pub currency: Option<String>,
    /// `paid`, `unpaid` or `no_payment_required`.
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// `open`, `complete` or `expired`.
    #[serde(default)]
    pub status: Option<String>,
}

impl CheckoutSession {
    /// The bill this session pays: the shop sets both, and both must agree.
    pub fn bill(&self) -> Option<&str> {
        let reference = self.client_reference_id.as_deref()?;
        let meta = self.metadata.get("bill").map(String::as_str);
        (meta.is_none() || meta == Some(reference)).then_some(reference)
    }

    pub fn is_paid(&self) -> bool {
        self.payment_status.as_deref() == Some("paid")
    }
}

/// An event as posted to the webhook: `data.object` is read according to `type`.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub livemode: bool,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// What an event means for the shop.
#[derive(Debug)]
pub enum Meaning {
    /// The session's payment went through (at once, or later for delayed methods).
    Completed(CheckoutSession),
    /// The session ended without a payment: it expired, or a delayed payment failed.
    Failed(CheckoutSession),
    /// A refund the shop asked for did not go through after all (Stripe answers `pending`
    /// at first; the bank may refuse later).
    RefundFailed(StripeRefund),
    /// Anything else: acknowledged and ignored.
    Other,
}

/// The prefix of the Checkout Session events.
const SESSION_EVENTS: &str = "checkout.session.";

impl Event {
    pub fn meaning(&self) -> Result<Meaning, serde_json::Error> {
        let session = || serde_json::from_value::<CheckoutSession>(self.data.object.clone());
        let refund = || serde_json::from_value::<StripeRefund>(self.data.object.clone());
        // `refund.failed`, and the older `charge.refund.updated` with a failed status.
        if self.kind == "refund.failed"
            || (self.kind == "charge.refund.updated"
                && self.data.object["status"].as_str() == Some("failed"))
        {
            return Ok(Meaning::RefundFailed(refund()?));
        }
        let Some(what) = self.kind.strip_prefix(SESSION_EVENTS) else {
            return Ok(Meaning::Other);
        };
        Ok(match what {
            "completed" | "async_payment_succeeded" => Meaning::Completed(session()?),
            "expired" | "async_payment_failed" => Meaning::Failed(session()?),
            _ => Meaning::Other,
        })
    }
}

/// A refund as Stripe answers `POST /v1/refunds`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct StripeRefund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// `pending`, `succeeded`, `failed`, `requires_action` or `canceled`.
    pub status: String,
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Why a failed refund failed (`expired_or_canceled_card`, …).
    #[serde(default)]
    pub failure_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_session_event_is_read() {
        let body = r#"{"id":"evt_1","object":"event","type":"TYPE",
            "livemode":false,"created":1700000000,"api_version":"2024-06-20",
            "data":{"object":{"id":"cs_test_1","object":"checkout.session","amount_total":11940,
            "currency":"eur","payment_status":"paid","status":"complete","url":null,
            "client_reference_id":"abc","metadata":{"bill":"abc"},"payment_intent":"pi_1",
            "livemode":false,"expires_at":1700086400}}}"#
            .replace("TYPE", &format!("{SESSION_EVENTS}completed"));
        let event: Event = serde_json::from_str(&body).unwrap();
        let Meaning::Completed(s) = event.meaning().unwrap() else {
            panic!("not completed");
        };
        assert_eq!(s.bill(), Some("abc"));
        assert!(s.is_paid());
        assert_eq!(s.amount_total, Some(11940));
        assert_eq!(s.payment_intent.as_deref(), Some("pi_1"));
    }

    #[test]
    fn a_failed_refund_is_read_from_either_event() {
        let object = r#"{"id":"re_1","object":"refund","amount":500,"currency":"eur",
            "status":"failed","failure_reason":"expired_or_canceled_card","payment_intent":"pi_1"}"#;
        for kind in ["refund.failed", "charge.refund.updated"] {
            let e: Event = serde_json::from_str(&format!(
                r#"{{"id":"evt_3","type":"{kind}","data":{{"object":{object}}}}}"#
            ))
            .unwrap();
            let Meaning::RefundFailed(r) = e.meaning().unwrap() else {
                panic!("{kind} not read as a failed refund");
            };
            assert_eq!(r.id, "re_1");
            assert_eq!(
                r.failure_reason.as_deref(),
                Some("expired_or_canceled_card")
            );
        }
        // An update that is not a failure is nothing to the shop.
        let updated: Event = serde_json::from_str(&format!(
            r#"{{"id":"evt_4","type":"charge.refund.updated","data":{{"object":{}}}}}"#,
            object.replace("failed\",", "succeeded\",")
        ))
        .unwrap();
        assert!(matches!(updated.meaning().unwrap(), Meaning::Other));
    }

    #[test]
    fn disagreeing_references_name_no_bill_and_other_events_are_other() {
        let s: CheckoutSession = serde_json::from_str(
            r#"{"id":"cs_1","client_reference_id":"a","metadata":{"bill":"b"}}"#,
        )
        .unwrap();
        assert_eq!(s.bill(), None);
        let e: Event = serde_json::from_str(
            r#"{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1"}}}"#,
        )
        .unwrap();
        assert!(matches!(e.meaning().unwrap(), Meaning::Other));
    }
}

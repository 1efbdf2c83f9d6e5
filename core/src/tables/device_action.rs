//! `SimplifiedDeviceAction`: `DeviceAction` reduced to a fixed set of verbs, as Sentinel's
//! enrichment fills it ("Denied" becomes "Deny"; Microsoft's Cisco ASA content filters on
//! `SimplifiedDeviceAction == "Deny"`). Microsoft publishes no table (decision 100): the set is
//! ASIM's `DvcAction` vocabulary (`Allow`, `Deny`, `Drop`, `Reset`) and `Alert`; a synonym of
//! one, in any case, maps to it. A base verb written in lower case (Palo Alto's `allow`,
//! `alert`) is kept as written, since Microsoft's Palo Alto content compares case-sensitively
//! with it (`in ("allow", "alert")`). Anything else (`Teardown`, `close`, `login`) fills
//! nothing: it is no allow-or-deny decision.

/// The simplified action of `action`, or `None` when it is none of the set.
pub fn simplified(action: &str) -> Option<&str> {
    let action = action.trim();
    if action.is_empty() {
        return None;
    }
    // Synonyms are short ASCII words: a longer value is none of them.
    let mut folded = [0u8; 16];
    let slot = folded.get_mut(..action.len())?;
    slot.copy_from_slice(action.as_bytes());
    slot.make_ascii_lowercase();
    if matches!(action, "allow" | "deny" | "drop" | "reset" | "alert") {
        return Some(action);
    }
    let canonical = match &*slot {
        b"allow" | b"allowed" | b"accept" | b"accepted" | b"permit" | b"permitted" | b"pass"
        | b"passed" | b"built" => "Allow",
        b"deny" | b"denied" | b"block" | b"blocked" | b"reject" | b"rejected" | b"refuse"
        | b"refused" | b"prevent" | b"prevented" => "Deny",
        b"drop" | b"dropped" | b"dropping" | b"discard" | b"discarded" | b"drop-icmp" => "Drop",
        b"reset" | b"reset-both" | b"reset-client" | b"reset-server" | b"rst" | b"tcp-rst" => {
            "Reset"
        }
        b"alert" | b"alerted" | b"detect" | b"detected" => "Alert",
        _ => return None,
    };
    Some(canonical)
}

#[cfg(test)]
mod tests {
    use super::simplified;

    #[test]
    fn synonyms_map_to_the_set_and_the_rest_fills_nothing() {
        for (action, expected) in [
            ("Denied", Some("Deny")),
            ("denied", Some("Deny")),
            ("blocked", Some("Deny")),
            ("REJECT", Some("Deny")),
            ("DENY", Some("Deny")),
            ("Deny", Some("Deny")),
            ("permitted", Some("Allow")),
            ("Built", Some("Allow")),
            ("accept", Some("Allow")),
            ("dropped", Some("Drop")),
            (" DROP ", Some("Drop")),
            ("reset-both", Some("Reset")),
            ("detected", Some("Alert")),
            // A base verb in lower case: as written (Palo Alto's).
            ("allow", Some("allow")),
            ("alert", Some("alert")),
            (" drop ", Some("drop")),
            // No decision, or not a known word: nothing.
            ("Teardown", None),
            ("close", None),
            ("login", None),
            ("quarantined-and-notified", None),
            ("verweigert", None),
        ] {
            assert_eq!(simplified(action), expected, "{action}");
        }
        assert_eq!(simplified("  "), None);
    }
}

//! Rows for vendor formats (Palo Alto, Fortinet, Check Point, …) that travel as
//! CommonSecurityLog: their fields by the vendor's own names.

use super::*;

/// Vendor times beyond CEF's: epoch seconds with a fraction (Zeek, Meraki) and
/// `YYYY/MM/DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS` (PAN-OS, NXLog), the latter in the zone
/// configured for zone-less times.
pub(super) fn parse_vendor_time(value: &str, basis: TimeBasis<'_>) -> Option<Timestamp> {
    let value = value.trim();
    let b = value.as_bytes();
    if b.len() >= 19 && matches!(b.get(4), Some(b'/' | b'-')) && b.get(10) == Some(&b' ') {
        let number = |range: std::ops::Range<usize>| value.get(range)?.parse::<u32>().ok();
        let ts = Timestamp::new(
            i32::try_from(number(0..4)?).ok()?,
            u8::try_from(number(5..7)?).ok()?,
            u8::try_from(number(8..10)?).ok()?,
            u8::try_from(number(11..13)?).ok()?,
            u8::try_from(number(14..16)?).ok()?,
            u8::try_from(number(17..19)?).ok()?,
            0,
            None,
        )?;
        return Some(ts.to_utc(basis.default_offset_seconds));
    }
    cef_time::parse(value, basis)
}

/// A vendor message's value for a column, checked against the column's type; direction
/// words are normalised to `Inbound`/`Outbound`.
pub(super) fn vendor_value<'a>(
    column: usize,
    kind: Kind,
    value: Cow<'a, str>,
    basis: TimeBasis<'_>,
) -> Option<Typed<'a>> {
    if Some(column) == SPECIAL.direction {
        let direction = match value.trim().to_ascii_lowercase().as_str() {
            "0" | "inbound" | "in" | "incoming" | "ingress" => "Inbound",
            "1" | "outbound" | "out" | "outgoing" | "egress" => "Outbound",
            _ => return None,
        };
        return Some(Typed::Text(Cow::Borrowed(direction)));
    }
    if kind == Datetime {
        return parse_vendor_time(&value, basis).map(Typed::Time);
    }
    // Address columns take addresses only: Meraki's Air Marshal `src`/`dst` are MACs.
    if SPECIAL.addresses.contains(&Some(column))
        && value.trim().parse::<core::net::IpAddr>().is_err()
    {
        return None;
    }
    typed(kind, value, basis)
}

/// Writes a vendor message: its fields mapped to columns by the vendor's table
/// ([`super::vendors`]); every field that does not land in a column (unmapped, a value that
/// does not fit the column's type, an earlier duplicate, text outside any field) goes to
/// `AdditionalExtensions` as `key=value` joined by `;`, so nothing is lost.
pub(super) fn write_vendor<'a>(
    message: &VendorMessage<'a>,
    received: &Received<'_>,
    row: &mut JsonObject<'_, impl Record>,
) -> ShapeNotes {
    let mut notes = ShapeNotes::default();
    let vendor = message.vendor;
    let mapping = super::super::vendors::mapping(vendor);
    let offset = TimeBasis::of(received);
    let mut values: Landed<'a> = Landed::default();
    // Values not from one field sit at a position no field has: a mapped field replaces them.
    let set_derived = |values: &mut Landed<'a>, column: &str, value: Cow<'a, str>| {
        if let Some(index) = column_index(column) {
            let kind = COLUMNS.get(index).map_or(Str, |(_, k)| *k);
            if let Some(v) = vendor_value(index, kind, value, offset) {
                values.set(index, Some((usize::MAX, v)));
            }
        }
    };
    set_derived(
        &mut values,
        "DeviceVendor",
        Cow::Borrowed(mapping.device_vendor),
    );
    set_derived(
        &mut values,
        "DeviceProduct",
        Cow::Borrowed(mapping.device_product),
    );
    if !message.log_type.is_empty() {
        for column in mapping.log_type_columns {
            set_derived(&mut values, column, Cow::Borrowed(message.log_type));
        }
    }
    if let Some(derive) = mapping.derive {
        derive(message, &mut |column, value| {
            if !is_placeholder(&value) {
                set_derived(&mut values, column, value);
            }
        });
    }
    let mut placeholders = 0u64;
    for (position, (key, value)) in message.fields().enumerate() {
        let Some(target) = mapping.target(vendor, &key) else {
            continue;
        };
        if is_placeholder(value.trim()) || (value == "0" && target.translated) {
            placeholders |= 1 << position.min(63);
            continue;
        }
        let Some((_, kind)) = COLUMNS.get(target.column) else {
            continue;
        };
        let accepted = vendor_value(target.column, *kind, value, offset);
        if accepted.is_none() {
            notes.mistyped_values += 1;
        } else if let Some((label_column, label)) = target.label {
            values.set(
                label_column,
                Some((usize::MAX, Typed::Text(Cow::Borrowed(label)))),
            );
        }
        values.set(target.column, accepted.map(|v| (position, v)));
    }
    let header: [Option<usize>; 7] = VENDOR_HEADER.map(column_index);
    for index in header.iter().flatten() {
        if let Some((_, value)) = values.get(*index) {
            write_typed(row, *index, value);
        }
    }
    values.sort_by_column();
    for (index, _, value) in values.iter() {
        if !header.contains(&Some(index)) {
            write_typed(row, index, value);
        }
    }
    if let Some((_, Typed::Text(action))) = SPECIAL.action.and_then(|i| values.get(i)) {
        if let Some(simplified) = super::super::device_action::simplified(action) {
            row.string("SimplifiedDeviceAction", simplified);
        }
    }
    let landed = values.positions();
    let consumed = |position: usize| {
        (position < 63 && placeholders & (1 << position) != 0) || landed.contains(position)
    };
    let derived = |column: &str| {
        column_index(column)
            .and_then(|i| values.get(i))
            .is_some_and(|(position, _)| position == usize::MAX)
    };
    let replaced = |key: &str| {
        mapping.replaced.iter().any(|(field, sets)| {
            *field == key && sets.iter().any(|set| set.iter().all(|c| derived(c)))
        })
    };
    let extra = message
        .fields()
        .enumerate()
        .filter(|(position, (key, _))| !consumed(*position) && !replaced(key))
        .map(|(_, field)| field);
    write_additional(row, None, extra);
    notes
}

//! Thales CipherTrust Transparent Encryption agents (`CGP@21513`) and the Data Security
//! Manager (`COM@21513`), with the strings CipherTrust Manager's own CEF output uses: the
//! message code (MSGID) is the event class, `msg` the activity, the user the text before the
//! first comma of `uinfo`, the GuardPoint and policy in custom strings.

use std::borrow::Cow;

use tern_parsers::VendorMessage;

use super::{Mapping, field};

pub const MAPPING: Mapping = Mapping {
    device_vendor: "Thales Group",
    device_product: "CipherTrust",
    log_type_columns: &["DeviceEventClassID"],
    fields: &[
        ("msg", "Activity", ""),
        ("sev", "LogSeverity", ""),
        ("pol", "DeviceCustomString1", "Policy"),
        ("sproc", "SourceProcessName", ""),
        ("act", "DeviceCustomString2", "Access"),
        ("gp", "DeviceCustomString3", "GuardPoint"),
        ("filePath", "FileName", ""),
        ("oldFilePath", "OldFileName", ""),
        ("key", "DeviceCustomString4", "Key"),
        ("denyStr", "DeviceAction", ""),
        ("showStr", "DeviceCustomString5", "Effect"),
        ("shost", "DestinationHostName", ""),
        ("details", "Message", ""),
        ("message", "Message", ""),
    ],
    derive: Some(derive),
    replaced: &[],
};

fn derive<'a>(message: &VendorMessage<'a>, set: &mut dyn FnMut(&'static str, Cow<'a, str>)) {
    // `cat="\[AUDIT\]"`: the agents escape brackets that RFC 5424 does not ask to escape.
    if let Some(category) = field(message, "cat") {
        let category = if category.contains('\\') {
            Cow::Owned(category.replace("\\[", "[").replace("\\]", "]"))
        } else {
            category
        };
        set("DeviceEventCategory", category);
    }
    if let Some(Cow::Borrowed(uinfo)) = field(message, "uinfo") {
        let user = uinfo.split(',').next().unwrap_or(uinfo).trim();
        set("SourceUserName", Cow::Borrowed(user));
    }
}

//! Azure Resource Manager's DCR reads, as Tern uses them (`reference/edge.md` §2):
//! `GET {dcr id}?api-version=2022-06-01` with an `ETag` (and 304 for a matching
//! `If-None-Match`), `GET {machine}/providers/Microsoft.Insights/
//! dataCollectionRuleAssociations` (one page), an outage switch (503), and a bearer token the
//! mock issued, unexpired.

use std::time::Instant;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::{State, error, response};

/// DCRs and associations served.
#[derive(Debug, Default)]
pub(crate) struct Arm {
    /// Lower-cased DCR id → (the resource, its version).
    dcrs: Vec<(String, Value, u64)>,
    /// Lower-cased machine id → DCR ids.
    associations: Vec<(String, Vec<String>)>,
    down: bool,
    version: u64,
    /// (path, status) of every ARM request.
    pub(crate) seen: Vec<(String, u16)>,
}

impl Arm {
    pub(crate) fn set_dcr(&mut self, id: &str, resource: Value) {
        self.version += 1;
        let key = id.to_ascii_lowercase();
        let version = self.version;
        match self.dcrs.iter_mut().find(|(k, ..)| *k == key) {
            Some(entry) => *entry = (key, resource, version),
            None => self.dcrs.push((key, resource, version)),
        }
    }

    pub(crate) fn set_associations(&mut self, machine: &str, dcrs: &[&str]) {
        let key = machine.to_ascii_lowercase();
        let list = dcrs.iter().map(|d| (*d).to_owned()).collect();
        self.associations.retain(|(k, _)| *k != key);
        self.associations.push((key, list));
    }

    pub(crate) fn set_down(&mut self, down: bool) {
        self.down = down;
    }
}

/// Serves an ARM path, or `None` when the path is not one.
pub(crate) fn serve(
    state: &mut State,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
) -> Option<Response<Full<Bytes>>> {
    let lower = path.to_ascii_lowercase();
    let is_dcr = lower.contains("/providers/microsoft.insights/datacollectionrules/");
    let is_associations =
        lower.ends_with("/providers/microsoft.insights/datacollectionruleassociations");
    if !lower.starts_with("/subscriptions/") || !(is_dcr || is_associations) {
        return None;
    }
    let reply = answer(state, &lower, query, headers, is_dcr);
    state
        .arm
        .seen
        .push((path.to_owned(), reply.status().as_u16()));
    Some(reply)
}

fn answer(
    state: &mut State,
    lower: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    is_dcr: bool,
) -> Response<Full<Bytes>> {
    if state.arm.down {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "ARM is down (test outage)",
        );
    }
    if !query.split('&').any(|p| p == "api-version=2022-06-01") {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "api-version=2022-06-01 expected",
        );
    }
    let token = crate::bearer(headers);
    let valid = token
        .and_then(|t| state.tokens.get(t))
        .is_some_and(|(_, expiry)| *expiry > Instant::now());
    if !valid {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "no valid bearer token",
        );
    }
    if is_dcr {
        let Some((_, resource, version)) = state.arm.dcrs.iter().find(|(k, ..)| k == lower) else {
            return error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such DCR");
        };
        let etag = format!("\"v{version}\"");
        let matches = headers
            .get(hyper::header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == etag);
        if matches {
            return response(StatusCode::NOT_MODIFIED, "");
        }
        let mut r = response(StatusCode::OK, resource.to_string());
        if let Ok(v) = hyper::header::HeaderValue::from_str(&etag) {
            r.headers_mut().insert(hyper::header::ETAG, v);
        }
        return r;
    }
    let machine = lower
        .strip_suffix("/providers/microsoft.insights/datacollectionruleassociations")
        .unwrap_or(lower);
    let dcrs = state
        .arm
        .associations
        .iter()
        .find(|(k, _)| k == machine)
        .map(|(_, d)| d.clone())
        .unwrap_or_default();
    let value: Vec<Value> = dcrs
        .iter()
        .map(|id| serde_json::json!({"properties": {"dataCollectionRuleId": id}}))
        .collect();
    response(
        StatusCode::OK,
        serde_json::json!({ "value": value }).to_string(),
    )
}

//! Reading DCR JSON: the ARM resource (`{"properties": {...}}`, as the portal's JSON view and
//! ARM GET give it), the Azure CLI's flattened form (`az monitor data-collection rule show`:
//! `dataSources` etc. at the top level), and ARM templates (`{"resources": [...]}` with
//! `type` = `Microsoft.Insights/dataCollectionRules`). Files or folders of `*.json`.
//!
//! Only what Tern acts on is read; everything else in a DCR is ignored, so exports with newer
//! fields load. What is read is checked strictly: a wrong type or an unknown facility or level
//! name is an error naming the file and JSON path. Reading the files is the daemon's
//! (`tern::dcr::load`); this reads their text.

use serde_json::Value;

use super::DcrError;

/// Facility names of the DCR enum beyond the 24 wire facilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacilityName {
    /// A wire facility 0–23.
    Code(u8),
    /// `nopri`: messages that carried no PRI (Tern reads them as user.notice, RFC 3164).
    NoPri,
    /// `mark`: syslogd's internal mark messages; Tern generates none, so it selects nothing.
    Mark,
    /// `*`: every facility.
    All,
}

/// One `dataSources.syslog[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogSource {
    pub name: String,
    pub streams: Vec<String>,
    pub facilities: Vec<FacilityName>,
    /// Bit `s` set: severity `s` (0 emergency … 7 debug) selected.
    pub levels: u8,
    /// JSON path of this source, for messages.
    pub path: String,
}

/// How a `logFiles` source's files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One row per record: `RawData` is the record's text.
    Text,
    /// One JSON object per line; its fields fill the declared columns.
    Json,
}

/// `settings.text.recordStartTimestampFormat`: a line starting with such a timestamp starts a
/// record; other lines continue the one before (multi-line records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStart {
    /// `ISO 8601`: `2026-11-22T10:00:00` (fraction and zone optional).
    Iso8601,
    /// `YYYY-MM-DD HH:MM:SS`
    YmdHms,
    /// `M/D/YYYY HH:MM:SS AM/PM`
    UsDateAmPm,
    /// `Mon DD, YYYY HH:MM:SS`
    MonDdYyyy,
    /// `yyMMdd HH:mm:ss`
    YyMmDd,
    /// `ddMMyy HH:mm:ss`
    DdMmYy,
    /// `MMM d hh:mm:ss`
    Bsd,
    /// `dd/MMM/yyyy:HH:mm:ss zzz` (web-server access logs)
    Clf,
    /// `yyyy-MM-ddTHH:mm:ssK`
    IsoWithZone,
}

impl RecordStart {
    /// The DCR enum's spellings.
    pub const NAMES: [(&'static str, RecordStart); 9] = [
        ("ISO 8601", RecordStart::Iso8601),
        ("YYYY-MM-DD HH:MM:SS", RecordStart::YmdHms),
        ("M/D/YYYY HH:MM:SS AM/PM", RecordStart::UsDateAmPm),
        ("Mon DD, YYYY HH:MM:SS", RecordStart::MonDdYyyy),
        ("yyMMdd HH:mm:ss", RecordStart::YyMmDd),
        ("ddMMyy HH:mm:ss", RecordStart::DdMmYy),
        ("MMM d hh:mm:ss", RecordStart::Bsd),
        ("dd/MMM/yyyy:HH:mm:ss zzz", RecordStart::Clf),
        ("yyyy-MM-ddTHH:mm:ssK", RecordStart::IsoWithZone),
    ];
}

/// One `dataSources.logFiles[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileSource {
    pub name: String,
    /// The one `Custom-*` stream its rows go to.
    pub stream: String,
    /// Absolute paths; `*` and `?` in the file name.
    pub patterns: Vec<String>,
    pub format: FileFormat,
    pub record_start: Option<RecordStart>,
    pub path: String,
}

/// One `destinations.logAnalytics[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub name: String,
    pub workspace_resource_id: String,
}

/// One `dataFlows[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub streams: Vec<String>,
    pub destinations: Vec<String>,
    pub output_stream: Option<String>,
    /// `transformKql`; `None` when absent.
    pub transform_kql: Option<String>,
    pub path: String,
}

/// The parts of one DCR that Tern acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dcr {
    pub file: String,
    /// Where in the file (`(file)` or `resources[2]`).
    pub base: String,
    pub name: Option<String>,
    pub syslog_sources: Vec<SyslogSource>,
    /// `dataSources.logFiles` (text and JSON log files).
    pub log_files: Vec<LogFileSource>,
    pub workspaces: Vec<Workspace>,
    pub flows: Vec<Flow>,
    pub immutable_id: Option<String>,
    pub logs_ingestion_endpoint: Option<String>,
    /// `streamDeclarations` (ingestion DCRs).
    pub declared_streams: Vec<StreamDeclaration>,
}

/// Column types a stream declaration may use.
pub const COLUMN_TYPES: [&str; 7] = [
    "string", "int", "long", "real", "boolean", "datetime", "dynamic",
];

/// One `streamDeclarations` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDeclaration {
    pub name: String,
    pub columns: Vec<DeclaredColumn>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredColumn {
    pub name: String,
    pub kind: String,
    pub path: String,
}

impl Dcr {
    /// Its name (the ARM resource's), else its file's name without `.json`: what
    /// `[[listen]] dcrs` refers to it by.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let file = self.file.rsplit('/').next().unwrap_or(&self.file);
        file.strip_suffix(".json").unwrap_or(file).to_owned()
    }

    /// Whether this DCR collects syslog (as AMA's rules do).
    pub fn is_collection(&self) -> bool {
        !self.syslog_sources.is_empty()
    }
}

fn facility_name(name: &str) -> Option<FacilityName> {
    if name == "*" {
        return Some(FacilityName::All);
    }
    if name.eq_ignore_ascii_case("nopri") {
        return Some(FacilityName::NoPri);
    }
    if name.eq_ignore_ascii_case("mark") {
        return Some(FacilityName::Mark);
    }
    tern_parsers::Facility::from_name(name).map(|f| FacilityName::Code(f.code()))
}

/// A JSON value with the path it was found at, for precise errors.
struct At<'v> {
    value: &'v Value,
    path: String,
    file: &'v str,
}

impl<'v> At<'v> {
    fn error(&self, message: impl Into<String>) -> DcrError {
        DcrError {
            file: self.file.to_owned(),
            path: if self.path.is_empty() {
                "(file)".to_owned()
            } else {
                self.path.clone()
            },
            message: message.into(),
        }
    }

    fn child(&self, key: &str, value: &'v Value) -> At<'v> {
        At {
            value,
            path: if self.path.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.path)
            },
            file: self.file,
        }
    }

    fn get(&self, key: &str) -> Option<At<'v>> {
        self.value.get(key).map(|v| self.child(key, v))
    }

    fn array(&self) -> Result<Vec<At<'v>>, DcrError> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| self.error("expected an array"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| At {
                value,
                path: format!("{}[{i}]", self.path),
                file: self.file,
            })
            .collect())
    }

    fn str(&self) -> Result<&'v str, DcrError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error("expected a string"))
    }

    fn strings(&self) -> Result<Vec<String>, DcrError> {
        self.array()?
            .iter()
            .map(|item| item.str().map(str::to_owned))
            .collect()
    }

    fn optional_str(&self, key: &str) -> Result<Option<String>, DcrError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.value.is_null() => Ok(None),
            Some(v) => Ok(Some(v.str()?.to_owned())),
        }
    }

    fn required(&self, key: &str) -> Result<At<'v>, DcrError> {
        self.get(key)
            .ok_or_else(|| self.error(format!("missing `{key}`")))
    }
}

/// Reads DCR JSON text; `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Vec<Dcr>, Vec<DcrError>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![DcrError {
            file: file.to_owned(),
            path: format!("line {}, column {}", e.line(), e.column()),
            message: format!("not valid JSON: {e}"),
        }]
    })?;
    let root = At {
        value: &value,
        path: String::new(),
        file,
    };
    // An ARM template: DCRs among `resources`.
    if let Some(resources) = root.get("resources") {
        let mut dcrs = Vec::new();
        let mut errors = Vec::new();
        for resource in resources.array().map_err(|e| vec![e])? {
            let is_dcr = resource
                .get("type")
                .and_then(|t| t.value.as_str())
                .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Insights/dataCollectionRules"));
            if !is_dcr {
                continue;
            }
            match read_dcr(&resource) {
                Ok(d) => dcrs.push(d),
                Err(e) => errors.push(e),
            }
        }
        if dcrs.is_empty() && errors.is_empty() {
            errors.push(root.error(
                "an ARM template without a Microsoft.Insights/dataCollectionRules resource",
            ));
        }
        return if errors.is_empty() {
            Ok(dcrs)
        } else {
            Err(errors)
        };
    }
    // A list, as `az rest` and ARM list calls return it: `{"value": [DCR, ...]}`.
    if let (Some(list), None) = (root.get("value"), root.get("properties")) {
        if list.value.is_array() {
            let mut dcrs = Vec::new();
            let mut errors = Vec::new();
            for item in list.array().map_err(|e| vec![e])? {
                match read_dcr(&item) {
                    Ok(d) => dcrs.push(d),
                    Err(e) => errors.push(e),
                }
            }
            if dcrs.is_empty() && errors.is_empty() {
                errors.push(list.error("an empty list: no data collection rule"));
            }
            return if errors.is_empty() {
                Ok(dcrs)
            } else {
                Err(errors)
            };
        }
    }
    read_dcr(&root).map(|d| vec![d]).map_err(|e| vec![e])
}

/// The keys of a DCR resource around `properties` (ARM GET, portal JSON view, ARM template).
const RESOURCE_KEYS: [&str; 15] = [
    "id",
    "name",
    "type",
    "location",
    "tags",
    "kind",
    "identity",
    "etag",
    "systemData",
    "properties",
    "apiVersion",
    "dependsOn",
    "comments",
    "condition",
    "resourceGroup",
];

/// The keys of a DCR's `properties` (API versions up to 2025-05-11; `reference/azure.md`).
const PROPERTY_KEYS: [&str; 12] = [
    "description",
    "immutableId",
    "dataCollectionEndpointId",
    "endpoints",
    "metadata",
    "references",
    "agentSettings",
    "streamDeclarations",
    "dataSources",
    "destinations",
    "dataFlows",
    "provisioningState",
];

/// Refuses keys a DCR does not have: a misspelt `dataSources` used to be skipped, and then no
/// source was read and everything was kept.
fn check_keys(node: &At<'_>, allowed: &[&str]) -> Result<(), DcrError> {
    let Some(object) = node.value.as_object() else {
        return Ok(());
    };
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(node.child(unknown, &Value::Null).error(format!(
            "unknown key `{unknown}` (a data collection rule has: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// One DCR: `properties` if present (ARM), else the top level (CLI).
fn read_dcr(node: &At<'_>) -> Result<Dcr, DcrError> {
    if !node.value.is_object() {
        return Err(node.error("expected a JSON object (a data collection rule)"));
    }
    if node.get("properties").is_some() {
        check_keys(node, &RESOURCE_KEYS)?;
    } else {
        // The CLI's flattened form: both sets at the top level.
        let both: Vec<&str> = RESOURCE_KEYS
            .iter()
            .chain(&PROPERTY_KEYS)
            .copied()
            .collect();
        check_keys(node, &both)?;
    }
    let name = node
        .get("name")
        .and_then(|n| n.value.as_str().map(str::to_owned));
    let props = node.get("properties").unwrap_or_else(|| At {
        value: node.value,
        path: node.path.clone(),
        file: node.file,
    });
    if !props.value.is_object() {
        return Err(props.error("expected an object"));
    }
    if node.get("properties").is_some() {
        check_keys(&props, &PROPERTY_KEYS)?;
    }
    // Something a DCR is made of must be there: `{}` is no rule (and used to keep everything).
    if ![
        "dataSources",
        "destinations",
        "dataFlows",
        "streamDeclarations",
        "immutableId",
        "agentSettings",
        "endpoints",
    ]
    .iter()
    .any(|key| props.get(key).is_some())
    {
        return Err(props.error(
            "not a data collection rule: none of dataSources, destinations, dataFlows, \
             streamDeclarations or immutableId",
        ));
    }
    let mut syslog_sources = Vec::new();
    if let Some(sources) = props.get("dataSources").and_then(|d| d.get("syslog")) {
        for source in sources.array()? {
            syslog_sources.push(read_syslog_source(&source)?);
        }
    }
    let mut log_files = Vec::new();
    if let Some(sources) = props.get("dataSources").and_then(|d| d.get("logFiles")) {
        for source in sources.array()? {
            log_files.push(read_log_file_source(&source)?);
        }
    }
    let mut workspaces = Vec::new();
    if let Some(list) = props
        .get("destinations")
        .and_then(|d| d.get("logAnalytics"))
    {
        for w in list.array()? {
            workspaces.push(Workspace {
                name: w.required("name")?.str()?.to_owned(),
                workspace_resource_id: w.required("workspaceResourceId")?.str()?.to_owned(),
            });
        }
    }
    let mut flows = Vec::new();
    if let Some(list) = props.get("dataFlows") {
        for f in list.array()? {
            flows.push(Flow {
                streams: f.required("streams")?.strings()?,
                destinations: f.required("destinations")?.strings()?,
                output_stream: f.optional_str("outputStream")?,
                transform_kql: f.optional_str("transformKql")?,
                path: f.path.clone(),
            });
        }
    }
    let mut declared_streams = Vec::new();
    if let Some(d) = props.get("streamDeclarations") {
        let streams = d
            .value
            .as_object()
            .ok_or_else(|| d.error("expected an object"))?;
        for (name, declaration) in streams {
            let declaration = d.child(name, declaration);
            let mut columns = Vec::new();
            for column in declaration.required("columns")?.array()? {
                let kind = column.required("type")?.str()?;
                let kind = kind.to_ascii_lowercase();
                if !COLUMN_TYPES.contains(&kind.as_str()) {
                    return Err(column.child("type", column.value).error(format!(
                        "unknown column type `{kind}` (use {})",
                        COLUMN_TYPES.join(", ")
                    )));
                }
                columns.push(DeclaredColumn {
                    name: column.required("name")?.str()?.to_owned(),
                    kind,
                    path: column.path.clone(),
                });
            }
            declared_streams.push(StreamDeclaration {
                name: name.clone(),
                columns,
                path: declaration.path.clone(),
            });
        }
    }
    let logs_ingestion_endpoint = match props.get("endpoints") {
        Some(e) => {
            let endpoint = e.optional_str("logsIngestion")?;
            // Tern sends this URL a token: the rule every upload endpoint follows.
            if let Some(why) = endpoint.as_deref().and_then(super::endpoint::refusal) {
                let message = format!("the ingestion endpoint {why}");
                return Err(match e.get("logsIngestion") {
                    Some(at) => at.error(message),
                    None => e.error(message),
                });
            }
            endpoint
        }
        None => None,
    };
    Ok(Dcr {
        file: node.file.to_owned(),
        base: if node.path.is_empty() {
            "(file)".to_owned()
        } else {
            node.path.clone()
        },
        name,
        syslog_sources,
        log_files,
        workspaces,
        flows,
        immutable_id: props.optional_str("immutableId")?,
        logs_ingestion_endpoint,
        declared_streams,
    })
}

fn read_log_file_source(source: &At<'_>) -> Result<LogFileSource, DcrError> {
    let streams_at = source.required("streams")?;
    let streams = streams_at.strings()?;
    let stream = match streams.as_slice() {
        [one] if one.starts_with("Custom-") => one.clone(),
        _ => {
            return Err(
                streams_at.error("a logFiles source sends to exactly one `Custom-…` stream")
            );
        }
    };
    let patterns_at = source.required("filePatterns")?;
    let patterns = patterns_at.strings()?;
    for (i, pattern) in patterns.iter().enumerate() {
        if !pattern.starts_with('/') {
            return Err(DcrError {
                path: format!("{}[{i}]", patterns_at.path),
                ..patterns_at.error(format!(
                    "`{pattern}`: Tern reads absolute paths (wildcards in the file name), e.g. /var/log/app/*.log"
                ))
            });
        }
        let folder = pattern.rsplit_once('/').map_or("", |(d, _)| d);
        if folder.contains(['*', '?', '[']) {
            return Err(DcrError {
                path: format!("{}[{i}]", patterns_at.path),
                ..patterns_at.error(format!(
                    "`{pattern}`: wildcards are allowed in the file name only, as AMA allows"
                ))
            });
        }
    }
    let format_at = source.required("format")?;
    let format = match format_at.str()?.to_ascii_lowercase().as_str() {
        "text" => FileFormat::Text,
        "json" => FileFormat::Json,
        other => return Err(format_at.error(format!("unknown format `{other}`: use text or json"))),
    };
    let record_start = match source
        .get("settings")
        .and_then(|s| s.get("text"))
        .and_then(|t| t.get("recordStartTimestampFormat"))
    {
        None => None,
        Some(at) => {
            let name = at.str()?;
            Some(
                RecordStart::NAMES
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, f)| *f)
                    .ok_or_else(|| {
                        at.error(format!(
                            "unknown recordStartTimestampFormat `{name}` (use one of: {})",
                            RecordStart::NAMES.map(|(n, _)| n).join(", ")
                        ))
                    })?,
            )
        }
    };
    Ok(LogFileSource {
        name: source
            .get("name")
            .and_then(|n| n.value.as_str())
            .unwrap_or_default()
            .to_owned(),
        stream,
        patterns,
        format,
        record_start,
        path: source.path.clone(),
    })
}

fn read_syslog_source(source: &At<'_>) -> Result<SyslogSource, DcrError> {
    let mut facilities = Vec::new();
    for f in source.required("facilityNames")?.array()? {
        let name = f.str()?;
        facilities.push(facility_name(name).ok_or_else(|| {
            f.error(format!(
                "unknown facility `{name}` (use kern, user, mail, daemon, auth, syslog, lpr, news, \
                 uucp, cron, authpriv, ftp, ntp, audit, alert, clock, local0–local7, nopri, mark or *)"
            ))
        })?);
    }
    let mut levels = 0u8;
    for l in source.required("logLevels")?.array()? {
        let name = l.str()?;
        if name == "*" {
            levels = 0xff;
            continue;
        }
        // The DCR enum's names, as the parsers' Severity spells them.
        let index = tern_parsers::Severity::ALL
            .iter()
            .position(|level| level.dcr_name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                l.error(format!(
                    "unknown level `{name}` (use Debug, Info, Notice, Warning, Error, Critical, \
                     Alert, Emergency or *)"
                ))
            })?;
        levels |= 1 << index;
    }
    let streams = source.required("streams")?.strings()?;
    Ok(SyslogSource {
        name: source.optional_str("name")?.unwrap_or_default(),
        streams,
        facilities,
        levels,
        path: source.path.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARM: &str = r#"{
      "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Insights/dataCollectionRules/cef",
      "name": "cef-dcr", "location": "westeurope", "kind": "Linux",
      "properties": {
        "immutableId": "dcr-0123",
        "dataSources": { "syslog": [
          { "name": "cefSource", "streams": ["Microsoft-CommonSecurityLog"],
            "facilityNames": ["LOCAL4"], "logLevels": ["Info","Notice","Warning","Error","Critical","Alert","Emergency"] },
          { "name": "syslogSource", "streams": ["Microsoft-Syslog"],
            "facilityNames": ["auth","authpriv","daemon","nopri","mark"], "logLevels": ["*"] } ] },
        "destinations": { "logAnalytics": [ { "name": "la", "workspaceResourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/ws1" } ] },
        "dataFlows": [
          { "streams": ["Microsoft-CommonSecurityLog"], "destinations": ["la"] },
          { "streams": ["Microsoft-Syslog"], "destinations": ["la"] } ]
      }
    }"#;

    #[test]
    fn arm_resource() {
        let dcrs = load_str("arm.json", ARM).unwrap();
        assert_eq!(dcrs.len(), 1);
        let d = &dcrs[0];
        assert_eq!(d.name.as_deref(), Some("cef-dcr"));
        assert_eq!(d.immutable_id.as_deref(), Some("dcr-0123"));
        assert_eq!(d.syslog_sources.len(), 2);
        assert_eq!(d.syslog_sources[0].facilities, vec![FacilityName::Code(20)]);
        assert_eq!(d.syslog_sources[0].levels, 0b0111_1111);
        assert_eq!(d.syslog_sources[1].levels, 0xff);
        assert_eq!(
            d.syslog_sources[1].facilities,
            vec![
                FacilityName::Code(4),
                FacilityName::Code(10),
                FacilityName::Code(3),
                FacilityName::NoPri,
                FacilityName::Mark
            ]
        );
        assert_eq!(d.flows.len(), 2);
        assert_eq!(d.workspaces[0].name, "la");
    }

    #[test]
    fn cli_flattened_and_arm_template() {
        let value: Value = serde_json::from_str(ARM).unwrap();
        let mut flat = value["properties"].clone();
        flat["name"] = value["name"].clone();
        let from_cli = load_str("cli.json", &flat.to_string()).unwrap();
        let template = serde_json::json!({
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "resources": [
                { "type": "Microsoft.OperationalInsights/workspaces", "name": "ws" },
                { "type": "Microsoft.Insights/dataCollectionRules", "name": "cef-dcr", "properties": value["properties"].clone() }
            ]
        });
        let from_template = load_str("t.json", &template.to_string()).unwrap();
        let from_arm = load_str("arm.json", ARM).unwrap();
        for other in [&from_cli[0], &from_template[0]] {
            assert_eq!(
                other.syslog_sources,
                from_arm[0]
                    .syslog_sources
                    .iter()
                    .map(|s| SyslogSource {
                        path: other
                            .syslog_sources
                            .iter()
                            .find(|o| o.name == s.name)
                            .unwrap()
                            .path
                            .clone(),
                        ..s.clone()
                    })
                    .collect::<Vec<_>>()
            );
            assert_eq!(other.flows.len(), 2);
            assert_eq!(other.workspaces, from_arm[0].workspaces);
        }
        assert_eq!(from_template[0].base, "resources[1]");
        assert_eq!(
            from_template[0].syslog_sources[0].path,
            "resources[1].properties.dataSources.syslog[0]"
        );
    }

    #[test]
    fn errors_name_file_and_path() {
        let e = load_str("bad.json", r#"{"properties": {"dataSources": {"syslog": ["#).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].file, "bad.json");
        assert!(e[0].message.starts_with("not valid JSON"), "{}", e[0]);
        let e = load_str(
            "f.json",
            r#"{"properties": {"dataSources": {"syslog": [{"streams": ["Microsoft-Syslog"], "facilityNames": ["local4", "loca14"], "logLevels": ["*"]}]}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e[0].path,
            "properties.dataSources.syslog[0].facilityNames[1]"
        );
        assert!(e[0].message.contains("unknown facility `loca14`"));
        let e = load_str(
            "t.json",
            r#"{"properties": {"dataSources": {"syslog": [{"streams": "Microsoft-Syslog", "facilityNames": ["*"], "logLevels": ["*"]}]}}}"#,
        )
        .unwrap_err();
        assert_eq!(e[0].path, "properties.dataSources.syslog[0].streams");
        assert_eq!(e[0].message, "expected an array");
        let e = load_str(
            "l.json",
            r#"{"dataSources": {"syslog": [{"streams": ["Microsoft-Syslog"], "facilityNames": ["*"], "logLevels": ["Warn"]}]}}"#,
        )
        .unwrap_err();
        assert_eq!(e[0].path, "dataSources.syslog[0].logLevels[0]");
        assert_eq!(e[0].to_string().split(':').next(), Some("l.json"));
    }

    /// Tern sends an ingestion DCR's endpoint a token: the same rule as `[[destination]]`.
    #[test]
    fn a_plain_http_ingestion_endpoint_off_loopback_is_refused_with_its_path() {
        let dcr = |endpoint: &str| {
            format!(
                r#"{{"properties": {{"immutableId": "dcr-1", "endpoints": {{"logsIngestion": "{endpoint}"}}}}}}"#
            )
        };
        let e = load_str("ingest.json", &dcr("http://10.1.2.3")).unwrap_err();
        assert_eq!(e[0].file, "ingest.json");
        assert_eq!(e[0].path, "properties.endpoints.logsIngestion");
        assert!(
            e[0].message.contains("must be https://"),
            "{}",
            e[0].message
        );
        assert!(
            load_str(
                "ok.json",
                &dcr("https://dce.westeurope-1.ingest.monitor.azure.com")
            )
            .is_ok()
        );
        assert!(load_str("mock.json", &dcr("http://127.0.0.1:8080")).is_ok());
    }

    #[test]
    fn files_that_are_not_dcrs_are_errors_and_lists_are_several_dcrs() {
        let e = load_str("empty.json", "{}").unwrap_err();
        assert!(
            e[0].message.starts_with("not a data collection rule"),
            "{}",
            e[0]
        );
        let e = load_str(
            "typo.json",
            r#"{"properties": {"dataSoruces": {"syslog": []}, "dataFlows": []}}"#,
        )
        .unwrap_err();
        assert_eq!(e[0].path, "properties.dataSoruces");
        assert!(
            e[0].message.starts_with("unknown key `dataSoruces`"),
            "{}",
            e[0]
        );
        let e = load_str("top.json", r#"{"name": "x", "dataFlow": []}"#).unwrap_err();
        assert_eq!(e[0].path, "dataFlow");
        let one = r#"{"name": "a", "properties": {"dataFlows": []}}"#;
        let two = r#"{"name": "b", "properties": {"dataFlows": []}}"#;
        let dcrs = load_str("list.json", &format!(r#"{{"value": [{one}, {two}]}}"#)).unwrap();
        assert_eq!(
            dcrs.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            [Some("a".to_owned()), Some("b".to_owned())]
        );
        let e = load_str("none.json", r#"{"value": []}"#).unwrap_err();
        assert_eq!(e[0].path, "value");
    }
}

//! Transformations from Microsoft's docs and the Sentinel repository, with the rows the KQL
//! documentation implies.

use super::*;

fn syslog() -> Vec<(&'static str, &'static str)> {
    crate::tables::Table::Syslog.columns()
}

fn at() -> Timestamp {
    "2026-12-07T10:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Runs `kql` over a Syslog row given as JSON; the output row as JSON, or "dropped".
fn run(kql: &str, row: &str) -> String {
    let transform = match Transform::compile(kql, &syslog()) {
        Ok(t) => t,
        Err(e) => return format!("compile error: {}", e.render(kql)),
    };
    let mut out = Vec::new();
    match transform.apply_json(row.as_bytes(), at(), None, &mut out) {
        Applied::Kept => String::from_utf8_lossy(&out).into_owned(),
        Applied::Dropped => "dropped".to_owned(),
        Applied::Failed(e) => format!("failed: {e}"),
    }
}

#[test]
fn sentinel_cef_deduplication_drops_cef_from_syslog() {
    let kql = "  source\n    |  where ProcessName !contains \"CEF\"\n";
    let plain =
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","ProcessName":"sshd","SyslogMessage":"x"}"#;
    assert_eq!(
        run(kql, plain),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","ProcessName":"sshd","SyslogMessage":"x"}"#
    );
    let cef =
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","ProcessName":"CEF","SyslogMessage":"0|a"}"#;
    assert_eq!(run(kql, cef), "dropped");
}

fn custom(columns: &[(&'static str, &'static str)], kql: &str, row: &str) -> String {
    let transform = match Transform::compile(kql, columns) {
        Ok(t) => t,
        Err(e) => return format!("compile error: {}", e.render(kql)),
    };
    let mut out = Vec::new();
    match transform.apply_json(row.as_bytes(), at(), None, &mut out) {
        Applied::Kept => String::from_utf8_lossy(&out).into_owned(),
        Applied::Dropped => "dropped".to_owned(),
        Applied::Failed(e) => format!("failed: {e}"),
    }
}

/// Transformations-Library `Masking/MaskingDCR.json`.
#[test]
fn masking_library_sample_masks_valid_ssns_and_emails() {
    let columns = [
        ("TimeGenerated", "datetime"),
        ("Time", "datetime"),
        ("SSN", "string"),
        ("Email", "string"),
    ];
    let kql = r"source | extend parsedSSN = split(SSN,'-') | extend SSN = iif(SSN matches regex @'^\d{3}-\d{2}-\d{4}$' and not( SSN matches regex @'^(000|666|9)-\d{2}-\d{4}$') and not( SSN matches regex @'^\d{3}-00-\d{4}$') and not (SSN matches regex @'^\d{3}-\d{2}-0000$' ),strcat('XXX','-', 'XX','-',parsedSSN[2]), 'Invalid SSN') | extend Email = iif(Email matches regex @'^[a-zA-Z0-9+_.-]+@[a-zA-Z0-9.-]+$','PII data removed', Email) |project-away parsedSSN | project TimeGenerated = Time, SSN, Email";
    assert_eq!(
        custom(
            &columns,
            kql,
            r#"{"Time":"2026-12-01T08:00:00Z","SSN":"123-45-6789","Email":"a.b@example.com"}"#
        ),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","SSN":"XXX-XX-6789","Email":"PII data removed"}"#
    );
    // 000-… is not a valid SSN; an address without `@` stays.
    assert_eq!(
        custom(
            &columns,
            kql,
            r#"{"Time":"2026-12-01T08:00:00Z","SSN":"000-45-6789","Email":"nobody"}"#
        ),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","SSN":"Invalid SSN","Email":"nobody"}"#
    );
}

/// Transformations-Library `Tagging/EnrichmentDCR.json`: `case` over `toint(substring(…))`.
#[test]
fn tagging_library_sample_tags_by_first_octet() {
    let columns = [("TimeGenerated", "datetime"), ("SrcAddr", "string")];
    let kql = "source | extend Int_Ext_IP_CF = case(toint(case(substring(SrcAddr,0,3) contains '.', substring(SrcAddr,0,2), substring(SrcAddr,0,3))) >100, 'Internal IP', 'External IP')";
    let row = |ip: &str| format!(r#"{{"TimeGenerated":"2026-12-01T08:00:00Z","SrcAddr":"{ip}"}}"#);
    assert_eq!(
        custom(&columns, kql, &row("192.168.1.1")),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","SrcAddr":"192.168.1.1","Int_Ext_IP_CF":"Internal IP"}"#
    );
    assert_eq!(
        custom(&columns, kql, &row("10.1.1.1")),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","SrcAddr":"10.1.1.1","Int_Ext_IP_CF":"External IP"}"#
    );
}

/// Transformations-Library `Filtering/FilteringFieldsByVendorDCR.json` on CommonSecurityLog.
#[test]
fn vendor_field_filtering_sample_blanks_columns_for_listed_vendors() {
    let columns = crate::tables::Table::CommonSecurityLog.columns();
    let kql = "source | extend SourceSystem = iif(DeviceVendor in~ ('Palo Alto Networks','Fortinet', 'Check Point'),'', SourceSystem), ReceiptTime = iif(DeviceVendor in~ ('Palo Alto Networks','Fortinet', 'Check Point'),'', ReceiptTime)";
    let row = |vendor: &str| {
        format!(
            r#"{{"TimeGenerated":"2026-12-01T08:00:00Z","DeviceVendor":"{vendor}","ReceiptTime":"Dec 01 2026 08:00:00","SourceSystem":"x"}}"#
        )
    };
    let columns: Vec<(&str, &str)> = columns.into_iter().collect();
    let has_source_system = columns.iter().any(|(n, _)| *n == "SourceSystem");
    let out = custom(&columns, kql, &row("FORTINET"));
    if has_source_system {
        assert_eq!(
            out,
            r#"{"TimeGenerated":"2026-12-01T08:00:00Z","DeviceVendor":"FORTINET"}"#
        );
    } else {
        assert!(
            out.starts_with("compile error: no column or `let` named `SourceSystem`"),
            "{out}"
        );
    }
}

/// Transformations-Library filtering samples and the docs' "filter rows/columns".
#[test]
fn filtering_samples_drop_rows_and_columns() {
    let columns = [
        ("TimeGenerated", "datetime"),
        ("Action", "string"),
        ("Version", "int"),
        ("InterfaceId", "string"),
    ];
    let row = r#"{"TimeGenerated":"2026-12-01T08:00:00Z","Action":"REJECT","Version":2,"InterfaceId":"eni-1"}"#;
    assert_eq!(
        custom(&columns, "source | where Action contains 'REJECT'", row),
        row
    );
    assert_eq!(
        custom(&columns, "source | where Action contains 'accept'", row),
        "dropped"
    );
    assert_eq!(
        custom(&columns, "source | project-away Version, InterfaceId", row),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","Action":"REJECT"}"#
    );
}

/// Docs: "Parse important data from a column" (dynamic indexing, split, project-away).
#[test]
fn docs_sample_parses_json_context() {
    let columns = [("TimeGenerated", "datetime"), ("RequestContext", "string")];
    let kql = r#"source
| extend Context = parse_json(RequestContext)
| extend Workspace_CF = tostring(Context['workspaces'][0])
| extend WorkspaceName_CF = split(Workspace_CF,"/")[8]
| project-away RequestContext, Context, Workspace_CF"#;
    let row = r#"{"TimeGenerated":"2026-12-01T08:00:00Z","RequestContext":"{\"workspaces\":[\"/subscriptions/s/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/ws1\"]}"}"#;
    assert_eq!(
        custom(&columns, kql, row),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","WorkspaceName_CF":"ws1"}"#
    );
}

/// Docs: "Obfuscate sensitive information" and "Enrich data".
#[test]
fn docs_samples_obfuscate_and_enrich() {
    let columns = [
        ("TimeGenerated", "datetime"),
        ("Email", "string"),
        ("ClientIp", "string"),
    ];
    let row = r#"{"TimeGenerated":"2026-12-01T08:00:00Z","Email":"john.doe@contoso.com","ClientIp":"192.168.0.1"}"#;
    assert_eq!(
        custom(
            &columns,
            r#"source | extend Email = replace_string(Email,substring(Email,0,indexof(Email,"@")),"*****")"#,
            row
        ),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","Email":"*****@contoso.com","ClientIp":"192.168.0.1"}"#
    );
    assert_eq!(
        custom(
            &columns,
            r#"source | extend IpLocation = iff(split(ClientIp,".")[0] in ("10","192"), "Internal", "External") | project TimeGenerated, IpLocation"#,
            row
        ),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","IpLocation":"Internal"}"#
    );
}

/// Docs: "Parse data" (a text log's CSV) and "Modify schema" (`now()` is the clock passed in).
#[test]
fn docs_samples_parse_csv_and_set_time() {
    let columns = crate::tables::FILE_COLUMNS.to_vec();
    let kql = r#"source 
| project d = split(RawData,",") 
| project TimeGenerated=todatetime(d[0]), Code=toint(d[1]), Severity=tostring(d[2]), Module=tostring(d[3]), Message=tostring(d[4])"#;
    let row = r#"{"TimeGenerated":"2026-12-07T10:00:00Z","RawData":"2026-12-01 08:00:00,500,Error,auth,login failed"}"#;
    assert_eq!(
        custom(&columns, kql, row),
        r#"{"TimeGenerated":"2026-12-01T08:00:00Z","Code":500,"Severity":"Error","Module":"auth","Message":"login failed"}"#
    );
    assert_eq!(
        custom(
            &columns,
            "source | extend TimeGenerated = now() | project TimeGenerated",
            r#"{"TimeGenerated":"2000-01-01T00:00:00Z"}"#
        ),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z"}"#
    );
}

#[test]
fn parse_operator_extracts_typed_columns() {
    let kql = r#"source | parse SyslogMessage with * "user=" User " port=" Port:int " " * | where Port > 1000 | project TimeGenerated, User, Port"#;
    let row = r#"{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"login user=alice port=2222 ok"}"#;
    assert_eq!(
        run(kql, row),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","User":"alice","Port":2222}"#
    );
    // Simple parse: a column that does not convert voids every column.
    let bad =
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"login user=bob port=x ok"}"#;
    assert_eq!(run(kql, bad), "dropped");
    let regex = r#"source | parse kind=regex SyslogMessage with @"user=" User @"\s+port=" Port:long | project TimeGenerated, User, Port"#;
    assert_eq!(
        run(regex, row),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","User":"alice","Port":2222}"#
    );
}

#[test]
fn let_dynamic_lists_and_datatables_filter() {
    let row = |host: &str| {
        format!(
            r#"{{"TimeGenerated":"2026-12-07T10:00:00Z","HostName":"{host}","SyslogMessage":"m"}}"#
        )
    };
    let kql = r#"let noisy = dynamic(["lb1", "lb2"]); source | where HostName !in (noisy) | project TimeGenerated, HostName"#;
    assert_eq!(run(kql, &row("lb1")), "dropped");
    assert_eq!(
        run(kql, &row("fw1")),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","HostName":"fw1"}"#
    );
    let table = r#"let known = datatable(Host:string, Site:string) ["FW1", "hq", "fw2", "branch"]; source | where HostName in~ (known) | project TimeGenerated, HostName"#;
    assert_eq!(
        run(table, &row("fw1")),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","HostName":"fw1"}"#
    );
    assert_eq!(run(table, &row("fw3")), "dropped");
}

#[test]
fn has_is_whole_term_and_contains_is_substring() {
    let row =
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"GET /healthcheck.html 200"}"#;
    assert_eq!(
        run(r#"source | where SyslogMessage !has "healthcheck""#, row),
        "dropped"
    );
    assert_eq!(
        run(r#"source | where SyslogMessage has "health""#, row),
        "dropped"
    );
    assert_ne!(
        run(r#"source | where SyslogMessage contains "health""#, row),
        "dropped"
    );
    assert_eq!(
        run(r#"source | where SyslogMessage has_cs "GET""#, row),
        row
    );
    assert_eq!(
        run(r#"source | where SyslogMessage has_cs "get""#, row),
        "dropped"
    );
}

#[test]
fn unsupported_operators_are_refused_with_a_caret() {
    let kql = "source | summarize count() by Computer";
    let e = Transform::compile(kql, &syslog()).err();
    let rendered = e.map(|e| e.render(kql)).unwrap_or_default();
    assert!(
        rendered.starts_with(
            "`summarize` is not supported in transformations (they take one row and give at most one); supported: where"
        ),
        "{rendered}"
    );
    assert!(
        rendered.ends_with("\n    source | summarize count() by Computer\n             ^^^^^^^^^"),
        "{rendered}"
    );
    let kql = "source | extend Geo = geo_location(HostIP)";
    let rendered = Transform::compile(kql, &syslog())
        .err()
        .map(|e| e.render(kql))
        .unwrap_or_default();
    assert!(
        rendered.starts_with("`geo_location` needs Microsoft's GeoIP service"),
        "{rendered}"
    );
    assert!(
        rendered.ends_with("\n                          ^^^^^^^^^^^^"),
        "{rendered}"
    );
    let kql = "source | where Hostname == 'x'";
    let rendered = Transform::compile(kql, &syslog())
        .err()
        .map(|e| e.render(kql))
        .unwrap_or_default();
    assert!(
        rendered.starts_with("no column or `let` named `Hostname` (names are case-sensitive: did you mean `HostName`?)"),
        "{rendered}"
    );
}

#[test]
fn nulls_follow_kql() {
    let row = r#"{"TimeGenerated":"2026-12-07T10:00:00Z","ProcessID":12,"SyslogMessage":"x"}"#;
    // A comparison with null is null: `where` drops the row either way.
    assert_eq!(run("source | where toint('x') == 1", row), "dropped");
    assert_eq!(run("source | where toint('x') != 1", row), "dropped");
    assert_eq!(
        run(
            "source | project TimeGenerated, A = isnull(toint('x')), B = isempty(''), C = isnull(''), D = tostring(toint('x')), E = ProcessID / 5, F = ProcessID / 5.0, G = gettype(ProcessID)",
            row
        ),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","A":true,"B":true,"C":false,"E":2,"F":2.4,"G":"int"}"#
    );
}

#[test]
fn functions_give_documented_values() {
    let row = r#"{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"Accepted password for alice from 10.1.2.3 port 22"}"#;
    let kql = r#"source | project TimeGenerated,
        Ip = extract(@"from (\d+\.\d+\.\d+\.\d+)", 1, SyslogMessage),
        Private = ipv4_is_private(extract(@"from (\S+)", 1, SyslogMessage)),
        InRange = ipv4_is_in_range("10.1.2.3", "10.1.0.0/16"),
        Words = array_length(split(SyslogMessage, " ")),
        Count = countof(SyslogMessage, "a"),
        Upper = toupper(substring(SyslogMessage, 0, 8)),
        Hash = hash_sha256("abc"),
        B64 = base64_encode_tostring("hi"),
        Back = base64_decode_tostring("aGk="),
        Day = format_datetime(TimeGenerated, "yyyy-MM-dd HH:mm"),
        Later = datetime_add("month", 1, TimeGenerated),
        Bin = bin(TimeGenerated, 1h),
        Age = now() - ago(1d),
        Trimmed = trim(@"\s+", "  x  "),
        Replaced = replace_regex("a1b22", @"(\d+)", @"<\1>"),
        Max = max_of(1, 5.5, 3),
        Bag = bag_pack("k", 1, "s", "v"),
        Cat = strcat_delim("-", "a", 1, true)"#;
    assert_eq!(
        run(kql, row),
        concat!(
            r#"{"TimeGenerated":"2026-12-07T10:00:00Z","Ip":"10.1.2.3","Private":true,"InRange":true,"Words":8,"#,
            r#""Count":2,"Upper":"ACCEPTED","Hash":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","#,
            r#""B64":"aGk=","Back":"hi","Day":"2026-12-07 10:00","Later":"2027-01-07T10:00:00Z","#,
            r#""Bin":"2026-12-07T10:00:00Z","Age":"1.00:00:00","Trimmed":"x","Replaced":"a<1>b<22>","#,
            r#""Max":5.5,"Bag":{"k":1,"s":"v"},"Cat":"a-1-true"}"#
        )
    );
}

#[test]
fn parse_cef_dictionary_reads_the_extension() {
    let columns = [("TimeGenerated", "datetime"), ("Message", "string")];
    let kql = r#"source | extend cefMessage=iff(Message contains_cs ";", replace(";", " ", Message), Message) | extend d = parse_cef_dictionary(cefMessage) | project TimeGenerated, Src = tostring(d.src), Act = tostring(d["act"])"#;
    let row = r#"{"TimeGenerated":"2026-12-07T10:00:00Z","Message":"CEF:0|Vendor|Product|1|100|Blocked|5|src=10.0.0.1 act=blocked now"}"#;
    assert_eq!(
        custom(&columns, kql, row),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","Src":"10.0.0.1","Act":"blocked now"}"#
    );
}

#[test]
fn a_kept_row_leaves_out_the_targets_undeclared_columns() {
    let undeclared = crate::tables::Undeclared::of(
        crate::tables::Table::Syslog,
        &["TimeGenerated".to_owned(), "SyslogMessage".to_owned()],
    );
    let row =
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","HostName":"h","SyslogMessage":"keep me"}"#;
    for kql in [
        "source | where SyslogMessage has \"keep\"",
        "source | where SyslogMessage has \"keep\" | extend HostName = \"x\"",
    ] {
        let transform = Transform::compile(kql, &syslog()).unwrap();
        let mut out = Vec::new();
        let applied = transform.apply_json(row.as_bytes(), at(), Some(&undeclared), &mut out);
        assert_eq!(applied, Applied::Kept);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"keep me"}"#,
            "{kql}"
        );
    }
}

/// A fuzz find (`fuzz/regressions/kql_eval/`): a row whose value is not JSON (`rrr"…"`) was
/// split, kept and copied out as it was. It fails now, and nothing is written.
#[test]
fn a_row_that_is_not_json_fails_and_is_never_copied() {
    let input = include_bytes!(
        "../../../fuzz/regressions/kql_eval/crash-e954bf94f85265ded36fe6e72d36a11fd2e50f43"
    );
    let text = String::from_utf8_lossy(input);
    let (kql, row) = text.split_once('\n').unwrap_or_default();
    let transform = Transform::compile(kql, &syslog()).unwrap();
    let mut out = Vec::new();
    let applied = transform.apply_json(row.as_bytes(), at(), None, &mut out);
    assert!(
        matches!(applied, Applied::Failed(ref e) if e.starts_with("row is not JSON")),
        "{applied:?}"
    );
    assert!(out.is_empty());
}

/// A DCR is outside input: nesting and `let` growth past the limits are refused with a
/// caret, never a stack overflow or a tree of billions of nodes. A fuzz find
/// (`fuzz/regressions/kql_eval/crash-5690…`: 1,259 parentheses) overflowed the parser's stack.
#[test]
fn nesting_and_let_growth_are_refused_not_overflowed() {
    let input = include_bytes!(
        "../../../fuzz/regressions/kql_eval/crash-5690b74d8b432cde8bdaecc9c4603cb7a0d618e2"
    );
    let text = String::from_utf8_lossy(input);
    let (found, _) = text.split_once('\n').unwrap_or_default();
    let parens = format!(
        "source | where {}1{} == 1",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let chain = format!("source | extend N = 1{}", "+1".repeat(50_000));
    let signs = format!("source | extend N = {}1", "- ".repeat(50_000));
    let index = format!(
        "source | extend N = parse_json('[]'){}",
        "[0]".repeat(50_000)
    );
    let mut lets = String::from("let a0 = 1;\n");
    for i in 1..150 {
        lets.push_str(&format!("let a{i} = a{} + 1;\n", i - 1));
    }
    lets.push_str("source | extend N = a149");
    for (kql, wanted) in [
        (found, "nests more than 64 levels"),
        (&parens, "nests more than 64 levels"),
        (&chain, "nests more than 64 levels"),
        (&signs, "nests more than 64 levels"),
        (&index, "nests more than 64 levels"),
        (&lets, "nests more than 64 levels"),
    ] {
        match Transform::compile(kql, &syslog()) {
            Ok(_) => panic!("compiled: {}", &kql[..60]),
            Err(e) => assert!(e.render(kql).contains(wanted), "{}", e.render(kql)),
        }
    }
    // Wide rather than deep: 40 doublings would be 2^40 copies; refused past the node limit.
    let mut wide = String::from("let a0 = 1;\n");
    for i in 1..40 {
        wide.push_str(&format!("let a{i} = a{} + a{};\n", i - 1, i - 1));
    }
    wide.push_str("source | extend N = a39");
    let e = Transform::compile(&wide, &syslog()).err().unwrap();
    assert!(
        e.render(&wide).contains("past 20000 expression nodes"),
        "{}",
        e.render(&wide)
    );
    // Just inside the limit, and a real transformation's shape, compile and run.
    let deep = format!("source | extend N = {}1{}", "(".repeat(60), ")".repeat(60));
    assert!(Transform::compile(&deep, &syslog()).is_ok());
    let mut ten = String::from("let a0 = 1;\n");
    for i in 1..11 {
        ten.push_str(&format!("let a{i} = a{} + a{};\n", i - 1, i - 1));
    }
    ten.push_str("source | extend N = a10 | project TimeGenerated, N");
    let sixty = format!(
        "source | extend N = 1{} | project TimeGenerated, N",
        "+1".repeat(60)
    );
    assert_eq!(
        run(&sixty, r#"{"TimeGenerated":"2026-12-07T10:00:00Z"}"#),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","N":61}"#
    );
    assert_eq!(
        run(&ten, r#"{"TimeGenerated":"2026-12-07T10:00:00Z"}"#),
        r#"{"TimeGenerated":"2026-12-07T10:00:00Z","N":1024}"#
    );
}

/// The pipeline's path (columns recorded by the table writer, read where they were written)
/// keeps, drops and writes exactly what reading the written row does, on rows with escapes,
/// invalid UTF-8, CEF keys given twice (the writer takes columns back) and every corpus line.
#[test]
fn columns_recorded_by_the_writer_read_as_the_written_row() {
    use crate::tables::{Capture, Received, Table, write_captured_row, write_row};
    use tern_parsers::{Options, parse};
    let received = Received {
        time: tern_parsers::Timestamp::from_unix(1_795_219_201, 0),
        time_text: None,
        sender: Some([10, 1, 2, 3].into()),
        collector_hostname: "fwd",
        default_offset_seconds: 0,
    };
    let transforms: &[(Table, &str)] = &[
        (
            Table::Syslog,
            r#"source | where SyslogMessage has "password""#,
        ),
        (
            Table::Syslog,
            r#"source | where SyslogMessage !contains "\"" and ProcessID != 7 or HostIP startswith "10.""#,
        ),
        (
            Table::Syslog,
            r#"source | extend ProcessName = strcat(ProcessName, "-x") | project-away CollectorHostName"#,
        ),
        (
            Table::Syslog,
            r#"source | extend Len = strlen(SyslogMessage) | where Len > 20 | project-rename Msg = SyslogMessage"#,
        ),
        (
            Table::CommonSecurityLog,
            r#"source | where DeviceVendor =~ "palo alto networks" or AdditionalExtensions has "cs1""#,
        ),
        (
            Table::CommonSecurityLog,
            r#"source | extend Activity = tolower(Activity) | project-away DeviceCustomString1"#,
        ),
    ];
    let mut lines: Vec<Vec<u8>> = vec![
        b"<13>1 2026-11-21T10:00:00Z host app 42 - - Failed password for \"root\"\tfrom x".to_vec(),
        b"<13>Nov 21 10:00:00 host sshd[7]: bad \xff\xfe bytes password \\ end".to_vec(),
        b"<13>Nov 21 10:00:00 host sshd[x]: ".to_vec(),
        b"CEF:0|Palo Alto Networks|PAN-OS|1|1|act \"q\"|5|act=allow act=deny cs1=a\\=b cs1Label=L"
            .to_vec(),
        b"<134>CEF:0|V|P|1|1|n|5|src=10.0.0.1 msg=tab\there DeviceCustomString1=x".to_vec(),
    ];
    lines.extend(crate::tables::tests::corpus_lines(
        "columns_recorded_by_the_writer_read_as_the_written_row (corpus part)",
    ));
    let (mut compared, mut kept, mut with_escapes) = (0, 0, 0);
    let mut capture = Capture::default();
    for (table, kql) in transforms {
        let transform = Transform::compile(kql, &table.columns()).unwrap();
        for line in &lines {
            let Ok(event) = parse(line, &Options::new(received.time)) else {
                continue;
            };
            if Table::for_event(&event) != *table {
                continue;
            }
            let mut written = Vec::new();
            write_row(*table, &event, &received, &mut written);
            let mut recorded = Vec::new();
            capture.reset(transform.captures());
            write_captured_row(*table, &event, &received, &mut capture, &mut recorded);
            assert_eq!(recorded, written, "recording changed the row");
            with_escapes += usize::from(written.contains(&b'\\'));
            let (mut from_row, mut from_capture) = (Vec::new(), Vec::new());
            let by_row = match transform.run_json(&written, at()).unwrap() {
                Outcome::Kept(cells) => {
                    transform.write_kept(&written, &cells, None, &mut from_row);
                    "kept"
                }
                Outcome::Dropped => "dropped",
                Outcome::Failed(_) => "failed",
            };
            let by_capture = match transform.run_captured(&capture, &recorded, at()) {
                Outcome::Kept(cells) => {
                    transform.write_kept(&recorded, &cells, None, &mut from_capture);
                    "kept"
                }
                Outcome::Dropped => "dropped",
                Outcome::Failed(_) => "failed",
            };
            let shown = String::from_utf8_lossy(line);
            assert_eq!(by_capture, by_row, "{kql} on {shown}");
            assert_eq!(
                String::from_utf8_lossy(&from_capture),
                String::from_utf8_lossy(&from_row),
                "{kql} on {shown}"
            );
            compared += 1;
            kept += usize::from(by_row == "kept");
        }
    }
    // Both outcomes and rows with escapes were seen (the literal lines alone give these).
    assert!(
        compared >= 10 && kept >= 5 && kept < compared,
        "{compared} {kept}"
    );
    assert!(with_escapes >= 3, "{with_escapes}");
}

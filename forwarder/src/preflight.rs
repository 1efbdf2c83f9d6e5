//! What a configuration would silently lose, found before it runs: routes whose rows no
//! uploader and no local output would take. `tern check` refuses them (exit 2); `tern run`
//! logs each at start (decision 99) and the loss report counts the rows once a minute.

use crate::config::Config;
use crate::dcr::Compiled;
use crate::tables::Table;

/// One way rows would be dropped: the DCR or destination that causes it, the table, and why.
pub fn upload_gaps(config: &Config, compiled: &Compiled) -> Vec<String> {
    let Compiled {
        routing, bindings, ..
    } = compiled;
    let targets = &bindings.targets;
    // Without targets every row goes to the local outputs (stdout by default).
    if targets.is_empty() || !config.outputs.is_empty() {
        return Vec::new();
    }
    let mut gaps = Vec::new();
    let credential = config
        .azure
        .as_ref()
        .is_some_and(|a| a.credential.is_some());
    // A target naming a credential has it (the configuration refuses an unknown name); the
    // others need `[azure.auth]`.
    if !credential && targets.iter().any(|t| t.key.is_some() && t.auth.is_none()) {
        gaps.push(format!(
            "{}: upload targets but no [azure.auth] credential: rows will be dropped (give \
             [azure.auth], or a local [[output]])",
            config.source
        ));
        return gaps;
    }
    let unposted = |ids: &mut dyn Iterator<Item = usize>| -> Option<Vec<String>> {
        let bound: Vec<&crate::dcr::binding::Target> =
            ids.filter_map(|id| targets.get(id)).collect();
        bound
            .iter()
            .all(|t| t.key.is_none())
            .then(|| bound.iter().map(|t| t.origin.clone()).collect())
    };
    if routing.keeps_everything() {
        for table in [Table::Syslog, Table::CommonSecurityLog] {
            let mut ids =
                (0..targets.len()).filter(|&i| targets.get(i).is_some_and(|t| t.table == table));
            match unposted(&mut ids) {
                Some(origins) if origins.is_empty() => gaps.push(format!(
                    "{}: no stream takes {} and no collection DCR selects what is kept: \
                     {} events will be dropped (add a stream for it, or a collection DCR \
                     that leaves them out)",
                    config.source,
                    table.name(),
                    if table == Table::Syslog {
                        "syslog"
                    } else {
                        "CEF and ASA"
                    }
                )),
                Some(origins) => gaps.push(no_endpoint(table, "every workspace", &origins)),
                None => {}
            }
        }
        return gaps;
    }
    for (id, bound) in bindings.by_route.iter().enumerate() {
        let Some(route) = routing.route(id) else {
            continue;
        };
        if let Some(origins) = unposted(&mut bound.iter().copied()) {
            gaps.push(no_endpoint(route.table, &route.workspace, &origins));
        }
    }
    gaps
}

fn no_endpoint(table: Table, workspace: &str, origins: &[String]) -> String {
    format!(
        "{}: {} in {workspace}: no logs ingestion endpoint or DCR immutable id to post to \
         (a DCR exported before it was deployed?): rows will be dropped (export the deployed \
         DCR again, or give both in a [[destination]])",
        origins.join(", "),
        table.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESTINATION: &str = "[[listen]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:0\"\n[[destination]]\nname = \"d\"\nendpoint = \"https://e.ingest.monitor.azure.com\"\n\
        dcr_immutable_id = \"dcr-1\"\n";
    const AUTH: &str = "[azure.auth]\nmethod = \"managed-identity\"\n";

    fn gaps(text: &str) -> Vec<String> {
        let config = Config::parse("t.toml", text).unwrap();
        let dcrs = crate::dcr::routing::Routing::keep_all();
        let targets = crate::dcr::binding::targets_from_config(&config.destinations);
        let bindings = crate::dcr::binding::bind(&dcrs, targets).unwrap();
        let compiled = Compiled {
            routing: dcrs,
            bindings,
            files: Vec::new(),
            scopes: Vec::new(),
        };
        upload_gaps(&config, &compiled)
    }

    #[test]
    fn a_table_no_stream_takes_is_a_gap_unless_a_local_output_keeps_it() {
        let syslog_only = format!("{DESTINATION}streams = {{ Syslog = \"Custom-S\" }}\n{AUTH}");
        let found = gaps(&syslog_only);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("t.toml: no stream takes CommonSecurityLog")
                && found[0].contains("CEF and ASA events will be dropped"),
            "{found:?}"
        );
        let with_output = format!("{syslog_only}[[output]]\nkind = \"stdout\"\n");
        assert!(gaps(&with_output).is_empty());
        let both = format!(
            "{DESTINATION}streams = {{ Syslog = \"Custom-S\", CommonSecurityLog = \"Custom-C\" }}\n{AUTH}"
        );
        assert!(gaps(&both).is_empty(), "{:?}", gaps(&both));
    }

    #[test]
    fn targets_without_a_credential_are_a_gap() {
        let found = gaps(&format!(
            "{DESTINATION}streams = {{ Syslog = \"Custom-S\", CommonSecurityLog = \"Custom-C\" }}\n"
        ));
        assert_eq!(
            found,
            vec![
                "t.toml: upload targets but no [azure.auth] credential: rows will be dropped \
                 (give [azure.auth], or a local [[output]])"
                    .to_owned()
            ]
        );
    }
}

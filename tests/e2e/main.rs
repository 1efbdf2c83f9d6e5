//! The end-to-end suite in one binary (linking the whole stack once, not fifteen times): the
//! built `tern` against real clients and relays (`logger`, rsyslog, syslog-ng, systemd's
//! tools) and the in-repo mock of Azure.
//!
//! A test that needs a program this machine lacks is reported as ignored, naming the program
//! and how to get it, and counted in a summary at the end, so that `cargo test` passes on a
//! machine with only Rust and a C compiler. `TERN_TEST_REQUIRE_ALL=1` (set by `.ci/run`) makes
//! each such test fail instead. Nothing else is skipped. One test, or a module:
//! `cargo test --test e2e -- spool::` (a substring, as with the standard harness).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod arm;
mod azure_artifacts;
mod credentials;
mod daemon;
mod dcr_routing;
mod docker;
mod doctor;
mod files;
mod golden;
mod hostile;
mod migrate;
mod relays;
mod send_test;
mod spool;
mod support;
mod systemd;
mod tenants;
mod tls;
mod transform_cli;
mod upload;
mod vendors;

use std::future::Future;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use support::programs::{Program, REQUIRE_ALL, Skips};

/// What runs a test.
type Body = Box<dyn FnOnce() + Send>;

fn sync(test: fn()) -> Body {
    Box::new(test)
}

/// As `#[tokio::test]`: a current-thread runtime.
fn current_thread<F: Future<Output = ()> + 'static>(test: fn() -> F) -> Body {
    Box::new(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(test());
    })
}

/// As `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`.
fn multi_thread<F: Future<Output = ()> + Send + 'static>(test: fn() -> F) -> Body {
    Box::new(move || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(test());
    })
}

/// A test: its name (module::function), the outside programs it runs, and its body.
struct E2e {
    name: &'static str,
    needs: &'static [&'static str],
    body: Body,
}

fn e2e(name: &'static str, needs: &'static [&'static str], body: Body) -> E2e {
    E2e { name, needs, body }
}

fn all() -> Vec<E2e> {
    vec![
        // The longest test (a two-minute outage) first: it runs beside the others rather than
        // after them.
        e2e(
            "tenants::listeners_bound_to_their_dcrs_keep_tenants_apart",
            &[],
            multi_thread(tenants::listeners_bound_to_their_dcrs_keep_tenants_apart),
        ),
        e2e(
            "credentials::client_certificate_signs_an_assertion_entra_accepts",
            &[],
            current_thread(credentials::client_certificate_signs_an_assertion_entra_accepts),
        ),
        e2e(
            "credentials::workload_identity_reads_the_rotated_token_file_each_time",
            &[],
            current_thread(credentials::workload_identity_reads_the_rotated_token_file_each_time),
        ),
        e2e(
            "credentials::workload_identity_delivers_rows",
            &[],
            current_thread(credentials::workload_identity_delivers_rows),
        ),
        e2e(
            "credentials::managed_identity_system_and_user_assigned",
            &[],
            current_thread(credentials::managed_identity_system_and_user_assigned),
        ),
        e2e(
            "credentials::user_assigned_identity_delivers_rows",
            &[],
            current_thread(credentials::user_assigned_identity_delivers_rows),
        ),
        e2e(
            "credentials::azure_arc_answers_the_challenge_from_the_key_folder_only",
            &[],
            current_thread(credentials::azure_arc_answers_the_challenge_from_the_key_folder_only),
        ),
        e2e(
            "daemon::logger_over_udp_tcp_and_octet_counting_gives_exact_syslog_rows",
            &["logger"],
            sync(daemon::logger_over_udp_tcp_and_octet_counting_gives_exact_syslog_rows),
        ),
        e2e(
            "daemon::a_million_tcp_messages_over_four_connections_arrive_exactly_once",
            &[],
            sync(daemon::a_million_tcp_messages_over_four_connections_arrive_exactly_once),
        ),
        e2e(
            "daemon::sigterm_drains_what_was_received",
            &[],
            sync(daemon::sigterm_drains_what_was_received),
        ),
        e2e(
            "daemon::oversized_frames_and_rejected_senders_are_counted",
            &[],
            sync(daemon::oversized_frames_and_rejected_senders_are_counted),
        ),
        e2e(
            "daemon::bad_configs_give_one_clear_line_and_exit_2",
            &[],
            sync(daemon::bad_configs_give_one_clear_line_and_exit_2),
        ),
        e2e(
            "daemon::an_unreadable_dcr_folder_is_named_by_its_setting",
            &[],
            sync(daemon::an_unreadable_dcr_folder_is_named_by_its_setting),
        ),
        e2e(
            "daemon::bad_configs_report_every_error_at_once_in_file_order",
            &[],
            sync(daemon::bad_configs_report_every_error_at_once_in_file_order),
        ),
        e2e(
            "daemon::a_port_in_use_is_a_runtime_error_with_exit_1",
            &[],
            sync(daemon::a_port_in_use_is_a_runtime_error_with_exit_1),
        ),
        e2e(
            "daemon::check_refuses_an_output_file_in_a_missing_folder",
            &[],
            sync(daemon::check_refuses_an_output_file_in_a_missing_folder),
        ),
        e2e(
            "daemon::a_second_tern_on_a_udp_port_in_use_exits_1",
            &[],
            sync(daemon::a_second_tern_on_a_udp_port_in_use_exits_1),
        ),
        e2e(
            "daemon::rsyslog_relay_forwards_octet_counted_and_lf_framed",
            &["rsyslogd", "logger"],
            sync(daemon::rsyslog_relay_forwards_octet_counted_and_lf_framed),
        ),
        e2e(
            "daemon::the_example_config_and_dcrs_check",
            &[],
            sync(daemon::the_example_config_and_dcrs_check),
        ),
        e2e(
            "daemon::a_thousand_connections_are_served_while_slow_and_garbage_clients_misbehave",
            &[],
            sync(
                daemon::a_thousand_connections_are_served_while_slow_and_garbage_clients_misbehave,
            ),
        ),
        e2e(
            "daemon::unix_and_ipv6_listeners",
            &["logger"],
            sync(daemon::unix_and_ipv6_listeners),
        ),
        e2e(
            "daemon::sighup_reopens_the_output_file",
            &["logger"],
            sync(daemon::sighup_reopens_the_output_file),
        ),
        e2e(
            "daemon::udp_loss_in_the_kernel_is_counted_exactly",
            &[],
            sync(daemon::udp_loss_in_the_kernel_is_counted_exactly),
        ),
        e2e(
            "daemon::collection_dcrs_filter_and_route_events",
            &["logger"],
            sync(daemon::collection_dcrs_filter_and_route_events),
        ),
        e2e(
            "daemon::invalid_dcrs_give_one_error_each_and_exit_2",
            &[],
            sync(daemon::invalid_dcrs_give_one_error_each_and_exit_2),
        ),
        e2e(
            "daemon::dcr_reload_under_load_loses_and_duplicates_nothing",
            &[],
            sync(daemon::dcr_reload_under_load_loses_and_duplicates_nothing),
        ),
        e2e(
            "daemon::the_scaffolded_ingestion_dcr_checks_and_says_what_it_lacks",
            &[],
            sync(daemon::the_scaffolded_ingestion_dcr_checks_and_says_what_it_lacks),
        ),
        e2e(
            "dcr_routing::levels_are_sets_not_thresholds",
            &[],
            sync(dcr_routing::levels_are_sets_not_thresholds),
        ),
        e2e(
            "dcr_routing::several_dcrs_are_a_union_and_a_route_is_taken_once",
            &[],
            sync(dcr_routing::several_dcrs_are_a_union_and_a_route_is_taken_once),
        ),
        e2e(
            "dcr_routing::cef_lands_in_one_table_unless_asked_for_amas_duplicate",
            &[],
            sync(dcr_routing::cef_lands_in_one_table_unless_asked_for_amas_duplicate),
        ),
        e2e(
            "dcr_routing::no_collection_dcr_keeps_everything",
            &[],
            sync(dcr_routing::no_collection_dcr_keeps_everything),
        ),
        e2e(
            "dcr_routing::invalid_sets_name_file_and_path",
            &[],
            sync(dcr_routing::invalid_sets_name_file_and_path),
        ),
        e2e(
            "dcr_routing::facility_severity_kind_matrix_matches_the_reference",
            &[],
            sync(dcr_routing::facility_severity_kind_matrix_matches_the_reference),
        ),
        e2e(
            "dcr_routing::binding::routes_bind_by_table_and_workspace",
            &[],
            sync(dcr_routing::binding::routes_bind_by_table_and_workspace),
        ),
        e2e(
            "dcr_routing::binding::a_route_without_target_is_an_error_when_targets_exist",
            &[],
            sync(dcr_routing::binding::a_route_without_target_is_an_error_when_targets_exist),
        ),
        e2e(
            "dcr_routing::binding::declared_types_must_match_and_missing_columns_are_reported",
            &[],
            sync(dcr_routing::binding::declared_types_must_match_and_missing_columns_are_reported),
        ),
        e2e(
            "dcr_routing::multi_homing_is_reported",
            &[],
            sync(dcr_routing::multi_homing_is_reported),
        ),
        e2e(
            "docker::the_image_command_runs_with_the_image_config_and_passes_its_health_check",
            &["logger"],
            multi_thread(
                docker::the_image_command_runs_with_the_image_config_and_passes_its_health_check,
            ),
        ),
        e2e(
            "doctor::each_misconfiguration_is_reported_with_its_fix",
            &[],
            multi_thread(doctor::each_misconfiguration_is_reported_with_its_fix),
        ),
        e2e(
            "doctor::host_relays_and_busy_ports_are_reported",
            &[],
            multi_thread(doctor::host_relays_and_busy_ports_are_reported),
        ),
        e2e(
            "files::appends_rotations_new_and_deleted_files_deliver_every_line_once",
            &[],
            multi_thread(files::appends_rotations_new_and_deleted_files_deliver_every_line_once),
        ),
        e2e(
            "files::kill_9_mid_file_resumes_at_the_checkpoint",
            &[],
            multi_thread(files::kill_9_mid_file_resumes_at_the_checkpoint),
        ),
        e2e(
            "files::multi_line_records_in_every_timestamp_format",
            &[],
            multi_thread(files::multi_line_records_in_every_timestamp_format),
        ),
        e2e(
            "files::json_lines_with_nested_values",
            &[],
            multi_thread(files::json_lines_with_nested_values),
        ),
        e2e(
            "files::a_transformation_filters_and_masks_log_lines",
            &[],
            multi_thread(files::a_transformation_filters_and_masks_log_lines),
        ),
        e2e(
            "files::doctor_reports_each_pattern",
            &[],
            multi_thread(files::doctor_reports_each_pattern),
        ),
        e2e(
            "files::lines_written_while_stopped_arrive_after_the_restart",
            &[],
            multi_thread(files::lines_written_while_stopped_arrive_after_the_restart),
        ),
        e2e(
            "files::log_files_added_and_removed_by_a_dcr_reload_start_and_stop_without_a_restart",
            &[],
            multi_thread(
                files::log_files_added_and_removed_by_a_dcr_reload_start_and_stop_without_a_restart,
            ),
        ),
        e2e(
            "golden::parse_prints_exact_rows",
            &[],
            sync(golden::parse_prints_exact_rows),
        ),
        e2e(
            "golden::zone_less_times_are_read_in_the_configured_zone",
            &[],
            sync(golden::zone_less_times_are_read_in_the_configured_zone),
        ),
        e2e(
            "hostile::the_reassembly_bomb_is_bounded_and_legitimate_traffic_delivered_once",
            &[],
            sync(hostile::the_reassembly_bomb_is_bounded_and_legitimate_traffic_delivered_once),
        ),
        e2e(
            "hostile::slow_clients_cannot_hold_the_metrics_endpoint",
            &[],
            sync(hostile::slow_clients_cannot_hold_the_metrics_endpoint),
        ),
        e2e(
            "hostile::one_address_cannot_take_every_connection_slot",
            &[],
            sync(hostile::one_address_cannot_take_every_connection_slot),
        ),
        e2e(
            "migrate::rsyslog_default_form_keeps_warning_and_above_per_facility",
            &[],
            sync(migrate::rsyslog_default_form_keeps_warning_and_above_per_facility),
        ),
        e2e(
            "migrate::rsyslog_rainerscript_actions_and_negations",
            &[],
            sync(migrate::rsyslog_rainerscript_actions_and_negations),
        ),
        e2e(
            "migrate::rsyslog_portal_form_with_exact_levels_and_exclusions",
            &[],
            sync(migrate::rsyslog_portal_form_with_exact_levels_and_exclusions),
        ),
        e2e(
            "migrate::syslog_ng_oms_blocks_and_the_default_all_block",
            &[],
            sync(migrate::syslog_ng_oms_blocks_and_the_default_all_block),
        ),
        e2e(
            "migrate::cef_and_asa_forwarding_becomes_common_security_log_everywhere",
            &[],
            sync(migrate::cef_and_asa_forwarding_becomes_common_security_log_everywhere),
        ),
        e2e(
            "migrate::nothing_to_migrate_is_an_error",
            &[],
            sync(migrate::nothing_to_migrate_is_an_error),
        ),
        e2e(
            "relays::rsyslog_over_tcp",
            &["logger", "rsyslogd"],
            multi_thread(relays::rsyslog_over_tcp),
        ),
        e2e(
            "relays::rsyslog_over_relp_in_mutual_tls",
            &["logger", "rsyslogd", "omrelp", "gtls"],
            multi_thread(relays::rsyslog_over_relp_in_mutual_tls),
        ),
        e2e(
            "relays::rsyslog_over_tls_server_authenticated",
            &["logger", "rsyslogd", "gtls"],
            multi_thread(relays::rsyslog_over_tls_server_authenticated),
        ),
        e2e(
            "relays::rsyslog_over_mutual_tls",
            &["logger", "rsyslogd", "gtls"],
            multi_thread(relays::rsyslog_over_mutual_tls),
        ),
        e2e(
            "relays::rsyslog_over_relp",
            &["logger", "rsyslogd", "omrelp"],
            multi_thread(relays::rsyslog_over_relp),
        ),
        e2e(
            "relays::syslog_ng_over_tcp",
            &["logger", "syslog-ng"],
            multi_thread(relays::syslog_ng_over_tcp),
        ),
        e2e(
            "relays::syslog_ng_over_tls",
            &["logger", "syslog-ng"],
            multi_thread(relays::syslog_ng_over_tls),
        ),
        e2e(
            "relays::syslog_ng_over_mutual_tls",
            &["logger", "syslog-ng"],
            multi_thread(relays::syslog_ng_over_mutual_tls),
        ),
        e2e(
            "send_test::samples_are_followed_to_the_upload_over_udp_tcp_and_tls",
            &[],
            multi_thread(send_test::samples_are_followed_to_the_upload_over_udp_tcp_and_tls),
        ),
        e2e(
            "send_test::a_missing_stream_is_diagnosed_as_a_missing_stream",
            &[],
            multi_thread(send_test::a_missing_stream_is_diagnosed_as_a_missing_stream),
        ),
        e2e(
            "spool::sigterm_right_after_a_burst_loses_nothing",
            &[],
            multi_thread(spool::sigterm_right_after_a_burst_loses_nothing),
        ),
        e2e(
            "spool::an_outage_under_load_loses_and_duplicates_nothing",
            &[],
            multi_thread(spool::an_outage_under_load_loses_and_duplicates_nothing),
        ),
        e2e(
            "spool::kill_9_after_spooling_loses_nothing",
            &[],
            multi_thread(spool::kill_9_after_spooling_loses_nothing),
        ),
        e2e(
            "spool::kill_9_under_load_with_plain_tcp_is_measured",
            &[],
            multi_thread(spool::kill_9_under_load_with_plain_tcp_is_measured),
        ),
        e2e(
            "spool::damaged_spool_files_are_skipped_counted_and_the_rest_delivered",
            &[],
            multi_thread(spool::damaged_spool_files_are_skipped_counted_and_the_rest_delivered),
        ),
        e2e(
            "spool::a_full_budget_blocks_the_sender_and_drops_nothing",
            &[],
            multi_thread(spool::a_full_budget_blocks_the_sender_and_drops_nothing),
        ),
        e2e(
            "spool::drop_oldest_counts_exactly_what_is_missing",
            &[],
            multi_thread(spool::drop_oldest_counts_exactly_what_is_missing),
        ),
        e2e(
            "spool::relp_from_rsyslog_loses_nothing_through_kill_9",
            &["rsyslogd", "omrelp", "logger"],
            multi_thread(spool::relp_from_rsyslog_loses_nothing_through_kill_9),
        ),
        e2e(
            "spool::write_errors_block_and_recover",
            &[],
            multi_thread(spool::write_errors_block_and_recover),
        ),
        e2e(
            "spool::relp_frames_unanswered_at_a_kill_arrive_once_the_sender_sends_again",
            &[],
            multi_thread(
                spool::relp_frames_unanswered_at_a_kill_arrive_once_the_sender_sends_again,
            ),
        ),
        e2e(
            "systemd::units_pass_systemd_analyze_verify",
            &["systemd-analyze"],
            sync(systemd::units_pass_systemd_analyze_verify),
        ),
        e2e(
            "systemd::sysusers_and_tmpfiles_snippets_make_the_user_and_folders",
            &["systemd-sysusers", "systemd-tmpfiles"],
            sync(systemd::sysusers_and_tmpfiles_snippets_make_the_user_and_folders),
        ),
        e2e(
            "systemd::socket_activation_serves_the_inherited_sockets",
            &["logger", "systemd-socket-activate"],
            sync(systemd::socket_activation_serves_the_inherited_sockets),
        ),
        e2e(
            "systemd::notifies_ready_status_watchdog_and_stopping",
            &[],
            sync(systemd::notifies_ready_status_watchdog_and_stopping),
        ),
        e2e(
            "systemd::the_install_script_lays_out_a_vm",
            &["systemd-sysusers", "systemd-tmpfiles"],
            sync(systemd::the_install_script_lays_out_a_vm),
        ),
        e2e(
            "tls::tls_and_mutual_tls_deliver_and_reject_what_they_must",
            &[],
            multi_thread(tls::tls_and_mutual_tls_deliver_and_reject_what_they_must),
        ),
        e2e(
            "tls::certificates_reload_on_change_and_sighup_without_dropping_connections",
            &[],
            multi_thread(
                tls::certificates_reload_on_change_and_sighup_without_dropping_connections,
            ),
        ),
        e2e(
            "tls::mutual_tls_takes_only_the_allowed_names",
            &[],
            multi_thread(tls::mutual_tls_takes_only_the_allowed_names),
        ),
        e2e(
            "tls::mutual_tls_refuses_revoked_client_certificates",
            &[],
            multi_thread(tls::mutual_tls_refuses_revoked_client_certificates),
        ),
        e2e(
            "tls::bad_certificates_are_clear_errors_naming_the_file",
            &[],
            sync(tls::bad_certificates_are_clear_errors_naming_the_file),
        ),
        e2e(
            "upload::every_row_arrives_once_in_gzip_bodies_under_the_limit",
            &[],
            current_thread(upload::every_row_arrives_once_in_gzip_bodies_under_the_limit),
        ),
        e2e(
            "upload::tokens_and_uploads_go_through_the_proxy_with_decoded_credentials",
            &[],
            current_thread(
                upload::tokens_and_uploads_go_through_the_proxy_with_decoded_credentials,
            ),
        ),
        e2e(
            "upload::https_with_a_private_ca_needs_ca_file",
            &[],
            current_thread(upload::https_with_a_private_ca_needs_ca_file),
        ),
        e2e(
            "upload::retry_after_503_and_resets_are_waited_out",
            &[],
            current_thread(upload::retry_after_503_and_resets_are_waited_out),
        ),
        e2e(
            "upload::an_expired_token_is_replaced_mid_stream",
            &[],
            current_thread(upload::an_expired_token_is_replaced_mid_stream),
        ),
        e2e(
            "upload::a_poison_row_is_quarantined_and_the_rest_delivered",
            &[],
            current_thread(upload::a_poison_row_is_quarantined_and_the_rest_delivered),
        ),
        e2e(
            "upload::doctor_checks_token_endpoint_and_stream",
            &[],
            multi_thread(upload::doctor_checks_token_endpoint_and_stream),
        ),
        e2e(
            "upload::the_daemon_uploads_every_row_once",
            &[],
            multi_thread(upload::the_daemon_uploads_every_row_once),
        ),
        e2e(
            "upload::a_hundred_destinations_each_get_every_row",
            &[],
            multi_thread(upload::a_hundred_destinations_each_get_every_row),
        ),
        e2e(
            "upload::two_workspaces_each_get_every_row_once",
            &[],
            multi_thread(upload::two_workspaces_each_get_every_row_once),
        ),
        e2e(
            "upload::relays_to_two_workspaces_through_429_storms_and_a_minute_of_503",
            &["rsyslogd", "logger"],
            multi_thread(upload::relays_to_two_workspaces_through_429_storms_and_a_minute_of_503),
        ),
        e2e(
            "upload::a_failing_workspace_does_not_stall_the_other",
            &[],
            multi_thread(upload::a_failing_workspace_does_not_stall_the_other),
        ),
        e2e(
            "upload::a_workspace_added_by_a_dcr_reload_gets_every_row_without_a_restart",
            &[],
            multi_thread(
                upload::a_workspace_added_by_a_dcr_reload_gets_every_row_without_a_restart,
            ),
        ),
        e2e(
            "azure_artifacts::alert_rules_match_the_scheduled_query_rules_schema",
            &[],
            sync(azure_artifacts::alert_rules_match_the_scheduled_query_rules_schema),
        ),
        e2e(
            "azure_artifacts::the_workbook_matches_the_workbook_schema_and_its_deployment",
            &[],
            sync(azure_artifacts::the_workbook_matches_the_workbook_schema_and_its_deployment),
        ),
        e2e(
            "transform_cli::parse_with_a_dcr_shows_kept_transformed_and_dropped_lines",
            &[],
            sync(transform_cli::parse_with_a_dcr_shows_kept_transformed_and_dropped_lines),
        ),
        e2e(
            "transform_cli::transform_test_runs_a_dcrs_transformations_over_sample_rows",
            &[],
            sync(transform_cli::transform_test_runs_a_dcrs_transformations_over_sample_rows),
        ),
        e2e(
            "transform_cli::check_refuses_a_transformation_it_cannot_run_with_a_caret",
            &[],
            sync(transform_cli::check_refuses_a_transformation_it_cannot_run_with_a_caret),
        ),
        e2e(
            "arm::dcrs_from_azure_follow_edits_and_survive_an_outage",
            &[],
            multi_thread(arm::dcrs_from_azure_follow_edits_and_survive_an_outage),
        ),
        e2e(
            "tenants::each_tenant_gets_its_rows_with_its_own_credential",
            &[],
            multi_thread(tenants::each_tenant_gets_its_rows_with_its_own_credential),
        ),
        e2e(
            "tenants::a_sender_network_bound_to_a_dcr_reaches_only_that_tenant",
            &[],
            multi_thread(tenants::a_sender_network_bound_to_a_dcr_reaches_only_that_tenant),
        ),
        e2e(
            "upload::heartbeat_rows_arrive_at_the_interval_with_counts_matching_the_metrics",
            &[],
            multi_thread(
                upload::heartbeat_rows_arrive_at_the_interval_with_counts_matching_the_metrics,
            ),
        ),
        e2e(
            "upload::a_transformation_filters_and_changes_rows_and_reloads_live",
            &[],
            multi_thread(upload::a_transformation_filters_and_changes_rows_and_reloads_live),
        ),
        e2e(
            "vendors::ise_segments_are_reassembled_and_senders_can_be_pinned",
            &[],
            sync(vendors::ise_segments_are_reassembled_and_senders_can_be_pinned),
        ),
        e2e(
            "vendors::incomplete_ise_group_leaves_a_quiet_udp_listener_on_time",
            &[],
            sync(vendors::incomplete_ise_group_leaves_a_quiet_udp_listener_on_time),
        ),
        e2e(
            "vendors::incomplete_ise_group_leaves_a_quiet_tcp_connection_on_time",
            &[],
            sync(vendors::incomplete_ise_group_leaves_a_quiet_tcp_connection_on_time),
        ),
    ]
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let require_all = std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1");
    let skips = Skips::default();
    let trials = all()
        .into_iter()
        .map(|test| {
            let missing = test
                .needs
                .iter()
                .map(|name| Program::named(name))
                .find(|program| program.path().is_none());
            let (name, body) = (test.name, test.body);
            match missing {
                None => Trial::test(name, move || {
                    body();
                    Ok(())
                }),
                Some(program) if require_all => Trial::test(name, move || {
                    Err(Failed::from(format!(
                        "{} ({REQUIRE_ALL}=1)",
                        program.missing_reason()
                    )))
                }),
                Some(program) => {
                    let skips = skips.clone();
                    Trial::ignorable_test(name, move || {
                        skips.record(name, program);
                        Ok(Completion::ignored_with(program.missing_reason()))
                    })
                }
            }
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    skips.print_summary();
    conclusion.exit_code()
}

//! The integration tests, in one binary: the real `matrix` binary run as a user runs it, and
//! the library where a test needs to look inside. Shared helpers are in `common`.

mod common;

mod argo_logs;
mod artifact_policy;
mod check_shapes;
mod cli_definition;
mod cli_render;
mod cover;
mod cover_cli;
mod csv_columns;
mod exit_status;
mod finding_shape;
mod findings_cli;
mod findings_corpus;
mod findings_memory;
mod fuzz;
mod help;
mod hostile;
mod images_cli;
mod images_consistency;
mod images_dockerfiles;
mod images_real;
mod images_workflow;
mod readme;
mod report_causes;
mod report_cli;
mod report_corpus;
mod report_diff_corpus;
mod report_insights;
mod report_insights_cli;
mod report_page;
mod report_running;
mod rule_engine;
mod run_cli;
mod run_cpython;
mod sarif_cli;
mod sarif_corpus;
mod script_run;
mod scripts;
mod structure;
mod toolchain;
mod workflow_cli;
mod workflow_scale;
mod workflow_schema;

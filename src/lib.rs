//! `matrix`: expands the CPython build matrix (platform × OS × CPython version × compiler ×
//! sanitizer × …) under validity rules, renders one build script per cell and a CSV index,
//! runs the cells, and reads their logs and analyzer output back into results.
//!
//! Generation: [`definition`] (YAML → checked [`definition::Matrix`]) → [`selection`] and
//! [`expand`] (cells under [`rules`] within a selection; [`cover`] for T-way covers) → [`plan`]
//! (what each cell's build gets) → [`render`] (scripts, through [`templates`]) → [`output`]
//! (atomic directory write) and [`index`] (CSV) → [`workflow`] (Argo manifests) and
//! [`images`] (build images); [`blind_spots`] says which cells cannot see which defects.
//!
//! Running: [`run`] executes the rendered scripts on this machine or in containers.
//!
//! Analysis: [`artifacts`] (walking and opening logs and archives) → [`report`] (classifying
//! logs into results, causes, insights, pages) and [`sanitizer`] (recognising sanitizer
//! reports and their signatures) → [`findings`] (reports deduplicated across cells); [`sarif`]
//! reads GCC `-fanalyzer` output. [`cli`] turns flags into calls of all of these.

// The docs are built with `--document-private-items` (an application's internals are their
// readers), where links to private items resolve.
#![allow(rustdoc::private_intra_doc_links)]

pub mod artifacts;
pub mod blind_spots;
pub mod cell;
pub mod check;
pub mod cli;
pub mod cover;
pub mod definition;
pub mod engine;
pub mod expand;
pub mod explain;
pub mod export;
pub mod fetch;
pub mod finding;
pub mod findings;
pub mod grammar;
pub mod images;
pub mod index;
pub mod input;
pub mod logs;
pub mod memory;
pub mod output;
pub mod plan;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod sanitizer;
pub mod sarif;
pub mod selection;
pub mod spreadsheet;
pub mod stage;
pub mod suggest;
pub mod table;
pub mod templates;
pub mod version;
pub mod workflow;

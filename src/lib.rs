//! `matrix`: expands the CPython build matrix (platform × OS × CPython version × compiler ×
//! sanitizer × …) under validity rules, renders one build script per cell and a CSV index.
//!
//! The flow: [`definition`] (YAML → checked [`definition::Matrix`]) → [`selection`] and
//! [`expand`] (cells under [`rules`] within a selection) → [`plan`] (what each cell's build gets) → [`render`] (scripts)
//! → [`output`] (atomic directory write) and [`index`] (CSV).

pub mod artifacts;
pub mod cell;
pub mod check;
pub mod cli;
pub mod cover;
pub mod definition;
pub mod expand;
pub mod explain;
pub mod export;
pub mod finding;
pub mod findings;
pub mod grammar;
pub mod images;
pub mod index;
pub mod input;
pub mod output;
pub mod plan;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod sarif;
pub mod selection;
pub mod suggest;
pub mod table;
pub mod templates;
pub mod version;
pub mod workflow;

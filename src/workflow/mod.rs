//! Argo Workflows manifests for a selection of cells (`matrix workflow`): each cell's pod runs
//! exactly the script `matrix render` writes, carried compactly and split to fit Argo's limits.
//!
//! [`factor`] turns the rendered scripts into one shape plus per-cell fields, [`group`] chooses
//! which fields travel once per group of cells, [`build`] assembles and splits the documents
//! out of the typed Argo structs in [`types`].

pub mod build;
pub mod factor;
pub mod group;
pub mod options;
pub mod types;

pub use build::{build, Emitted};
pub use options::{Kind, Options};

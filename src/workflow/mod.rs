//! Argo Workflows manifests for a selection of cells (`matrix workflow`): each cell's pod runs
//! exactly the script `matrix render` writes, carried compactly and split to fit Argo's limits.
//!
//! [`compact`] holds the rendered scripts (each distinct line once, so 100,000 cells fit in a
//! few hundred megabytes), [`factor`] turns them into one shape plus per-cell fields, [`group`]
//! chooses which fields travel once per group of cells, [`build`](mod@build) assembles and splits the
//! documents out of the typed Argo structs in [`types`]; [`yaml11`] keeps YAML 1.1 readers from
//! misreading a value.

pub mod build;
pub mod compact;
pub mod factor;
pub mod group;
pub mod options;
pub mod schema;
pub mod types;
pub mod yaml11;

pub use build::{build, stream, Emitted, Part, Sink};
pub use options::{Kind, Options, Overrides, Setting};

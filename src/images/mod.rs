//! Build images, one per OS, from the definition's `images` section
//! ([`crate::definition::images`]): Dockerfiles, the bake file, their lint, their consistency
//! with the scripts, and the workflow that builds them.

pub mod bake;
pub mod commands;
pub mod consistency;
pub mod dockerfile;
pub mod lint;
pub mod workflow;

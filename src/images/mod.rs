//! Build images, one per OS, from the definition's `images` section
//! ([`crate::definition::images`]): Dockerfiles, the bake file, their lint, their consistency
//! with the scripts, and the workflow that builds them; building them here and verifying the
//! built images.

pub mod bake;
pub mod build;
pub mod commands;
pub mod consistency;
pub mod dockerfile;
pub mod lint;
pub mod verify;
pub mod workflow;

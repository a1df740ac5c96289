//! `matrix images --workflow`: an Argo Workflow that builds and pushes every OS image inside
//! the cluster with BuildKit (rootless, no Docker daemon), for every platform of the
//! definition. Each image's Dockerfile travels inline as a raw input artifact.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::dockerfile::{images_of, Dockerfile};
use crate::definition::Matrix;
use crate::workflow::types::Backoff;
use crate::workflow::types::{
    ContainerTemplate, Document, DocumentSpec, EnvVar, InputArtifact, Inputs, ObjectMeta, PodGc,
    RawArtifact, Resources, RetryStrategy, SeccompProfile, SecretVolumeSource, SecurityContext,
    Template, TtlStrategy, Volume, VolumeMount, WorkflowSpec, WorkflowStep, API_VERSION,
};

/// Where the Dockerfile is put in the BuildKit container; it is also the (empty) context.
const CONTEXT_DIR: &str = "/work";
const DOCKER_CONFIG_DIR: &str = "/home/user/.docker";

/// Knobs of the image-building Workflow.
#[derive(Debug, Clone)]
pub struct ImageWorkflowOptions {
    pub registry: String,
    pub generate_name: String,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    /// A Secret holding `config.json` with push credentials for the registry.
    pub docker_config_secret: String,
    pub buildkit_image: String,
}

/// The Workflow, one step per image, all in parallel.
pub fn image_workflow(
    matrix: &Matrix,
    dockerfiles: &[Dockerfile],
    options: &ImageWorkflowOptions,
) -> Result<Document> {
    let images = images_of(matrix)?;
    let mut steps = Vec::new();
    let mut templates = vec![Template {
        name: "images".into(),
        ..Template::default()
    }];
    for dockerfile in dockerfiles {
        if !crate::workflow::factor::substitution_safe(&dockerfile.text)
            || dockerfile.text.contains("{{")
        {
            bail!(
                "{} holds `{{{{` or a control character, which Argo's parameter substitution \
                 would change",
                dockerfile.file_name
            );
        }
        // Template and step names allow letters, digits and `-` only.
        let name = format!("build-{}", dockerfile.os.replace(['.', '_'], "-"));
        let reference = matrix.image.reference(&options.registry, &dockerfile.os);
        steps.push(WorkflowStep {
            name: name.clone(),
            template: name.clone(),
            ..WorkflowStep::default()
        });
        templates.push(build_template(
            name,
            dockerfile,
            &reference,
            &images.platforms,
            options,
        ));
    }
    templates[0].steps = vec![steps];
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        "matrix".to_string(),
    );
    labels.insert("matrix.cpython/role".to_string(), "images".to_string());
    let document = Document {
        api_version: API_VERSION,
        kind: "Workflow",
        metadata: ObjectMeta {
            generate_name: Some(options.generate_name.clone()),
            namespace: options.namespace.clone(),
            labels,
            ..ObjectMeta::default()
        },
        spec: DocumentSpec::Workflow(WorkflowSpec {
            entrypoint: "images".into(),
            parallelism: dockerfiles.len().max(1) as u32,
            service_account_name: options.service_account.clone(),
            artifact_repository_ref: None,
            archive_logs: true,
            pod_gc: PodGc {
                strategy: "OnPodCompletion",
            },
            ttl_strategy: TtlStrategy {
                seconds_after_completion: 7 * 24 * 3600,
            },
            templates,
        }),
    };
    crate::workflow::yaml11::check(&document)?;
    Ok(document)
}

fn build_template(
    name: String,
    dockerfile: &Dockerfile,
    reference: &str,
    platforms: &[String],
    options: &ImageWorkflowOptions,
) -> Template {
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), "2".to_string());
    requests.insert("memory".to_string(), "4Gi".to_string());
    Template {
        name,
        inputs: Some(Inputs {
            parameters: Vec::new(),
            artifacts: vec![InputArtifact {
                name: "dockerfile".into(),
                path: format!("{CONTEXT_DIR}/Dockerfile"),
                raw: RawArtifact {
                    data: dockerfile.text.clone(),
                },
            }],
        }),
        // Cross-platform layers run under QEMU and take hours; a pod lost to the cluster is
        // retried, a failed build is not.
        active_deadline_seconds: Some((8 * 3600).to_string()),
        retry_strategy: Some(RetryStrategy {
            limit: "2".into(),
            retry_policy: "OnError",
            backoff: Backoff {
                duration: "1m".into(),
                factor: "2".into(),
            },
        }),
        volumes: vec![Volume {
            name: "docker-config".into(),
            secret: Some(SecretVolumeSource {
                secret_name: options.docker_config_secret.clone(),
            }),
            empty_dir: None,
        }],
        container: Some(ContainerTemplate {
            image: options.buildkit_image.clone(),
            command: vec!["buildctl-daemonless.sh".into()],
            args: vec![
                "build".into(),
                "--frontend".into(),
                "dockerfile.v0".into(),
                "--local".into(),
                format!("context={CONTEXT_DIR}"),
                "--local".into(),
                format!("dockerfile={CONTEXT_DIR}"),
                "--opt".into(),
                format!("platform={}", platforms.join(",")),
                "--output".into(),
                format!("type=image,name={reference},push=true"),
            ],
            env: vec![
                EnvVar {
                    name: "BUILDKITD_FLAGS".into(),
                    value: Some("--oci-worker-no-process-sandbox".into()),
                    value_from: None,
                },
                EnvVar {
                    name: "DOCKER_CONFIG".into(),
                    value: Some(DOCKER_CONFIG_DIR.into()),
                    value_from: None,
                },
            ],
            volume_mounts: vec![VolumeMount {
                name: "docker-config".into(),
                mount_path: DOCKER_CONFIG_DIR.into(),
                read_only: true,
            }],
            resources: Resources {
                requests,
                limits: BTreeMap::new(),
            },
            // Rootless BuildKit: an unprivileged user, without the default seccomp profile
            // (it blocks the mount calls BuildKit's rootless mode needs).
            security_context: Some(SecurityContext {
                run_as_user: 1000,
                run_as_group: 1000,
                seccomp_profile: SeccompProfile { kind: "Unconfined" },
            }),
        }),
        ..Template::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::dockerfile::render_all;

    fn options() -> ImageWorkflowOptions {
        ImageWorkflowOptions {
            registry: "ghcr.io/me".into(),
            generate_name: "build-images-".into(),
            namespace: None,
            service_account: None,
            docker_config_secret: "docker-config".into(),
            buildkit_image: "moby/buildkit:v0.16.0-rootless".into(),
        }
    }

    #[test]
    fn one_parallel_step_per_image_each_carrying_its_dockerfile() {
        let m = Matrix::builtin().unwrap();
        let dockerfiles = render_all(&m, &crate::templates::Templates::builtin()).unwrap();
        let doc = image_workflow(&m, &dockerfiles, &options()).unwrap();
        let DocumentSpec::Workflow(spec) = &doc.spec else {
            panic!()
        };
        assert_eq!(
            spec.templates[0].steps.len(),
            1,
            "one group: all images in parallel"
        );
        let names: Vec<&str> = spec.templates[0].steps[0]
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["build-fedora-40", "build-ubuntu-24-04"]);
        let ubuntu = &spec.templates[2];
        let data = &ubuntu.inputs.as_ref().unwrap().artifacts[0].raw.data;
        assert_eq!(data, &dockerfiles[1].text);
        let args = &ubuntu.container.as_ref().unwrap().args;
        assert!(
            args.contains(&"platform=linux/amd64,linux/arm64".to_string()),
            "{args:?}"
        );
        assert!(args.contains(
            &"type=image,name=ghcr.io/me/build-cpython:ubuntu-24.04,push=true".to_string()
        ));
    }

    #[test]
    fn a_dockerfile_argo_would_rewrite_is_refused() {
        let m = Matrix::builtin().unwrap();
        let mut dockerfiles = render_all(&m, &crate::templates::Templates::builtin()).unwrap();
        dockerfiles[0].text.push_str("RUN echo {{oops}}\n");
        let err = image_workflow(&m, &dockerfiles, &options())
            .unwrap_err()
            .to_string();
        assert!(err.contains("fedora-40.Dockerfile"), "{err}");
    }
}

//! Where a cell's script runs: directly on this machine (`host`) or in its OS's image through a
//! container engine (`podman`, `docker`), and how each is started and stopped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// What `--engine` asks for (its command-line spelling is `cli::run::EngineArg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// A container engine that answers (podman, then docker), else host.
    Auto,
    Podman,
    Docker,
    Host,
}

/// A container engine's client program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerTool {
    Podman,
    Docker,
}

impl ContainerTool {
    pub fn program(self) -> &'static str {
        match self {
            ContainerTool::Podman => "podman",
            ContainerTool::Docker => "docker",
        }
    }
}

/// The engine a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Host,
    Container(ContainerTool),
}

/// How long `podman info` / `docker info` may take to answer before the engine counts as absent,
/// and `image inspect` before the run refuses to start.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

impl Engine {
    /// Resolves the choice of engine. `auto` asks each engine to answer (`info`): a `docker`
    /// client with no daemon behind it is not an engine. `setting` names the setting that chose
    /// it in the error (the command line's `--engine`).
    pub fn choose(choice: EngineChoice, setting: &str) -> Result<Engine> {
        let named = |tool: ContainerTool| -> Result<Engine> {
            match probe(tool) {
                Ok(()) => Ok(Engine::Container(tool)),
                Err(why) => bail!(
                    "{engine} {0}: {0} does not answer ({why}); start its service, or use \
                     {engine} host to run the scripts on this machine",
                    tool.program(),
                    engine = setting
                ),
            }
        };
        match choice {
            EngineChoice::Host => Ok(Engine::Host),
            EngineChoice::Podman => named(ContainerTool::Podman),
            EngineChoice::Docker => named(ContainerTool::Docker),
            EngineChoice::Auto => Ok([ContainerTool::Podman, ContainerTool::Docker]
                .into_iter()
                .find(|&tool| probe(tool).is_ok())
                .map(Engine::Container)
                .unwrap_or(Engine::Host)),
        }
    }

    /// `host`, `podman`, `docker`: as recorded in the results.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Host => "host",
            Engine::Container(tool) => tool.program(),
        }
    }
}

impl Engine {
    /// Whether the engine has `image` here (the host has every image: it uses none); the
    /// error says what to do. Bounded like the probe: an engine that answered `info` can
    /// still hang on its storage (a lock a killed podman left), and a run must not hang with it.
    pub fn has_image(&self, image: &str) -> Result<(), String> {
        let Engine::Container(tool) = self else {
            return Ok(());
        };
        let mut command = Command::new(tool.program());
        command.args(["image", "inspect", "--format", "{{.Id}}", image]);
        let what = format!("`{} image inspect {image}`", tool.program());
        if wait_bounded(command, &what)?.success() {
            return Ok(());
        }
        Err(format!(
            "image {image}, which {} does not have: build it with `matrix images build`, or \
             pull it",
            tool.program()
        ))
    }
}

/// Runs `<tool> info` and waits for it at most [`PROBE_TIMEOUT`].
fn probe(tool: ContainerTool) -> Result<(), String> {
    let mut command = Command::new(tool.program());
    command.arg("info");
    let what = format!("`{} info`", tool.program());
    match wait_bounded(command, &what)? {
        status if status.success() => Ok(()),
        status => Err(format!("{what} {status}")),
    }
}

/// Runs `command` (`what` names it in errors), its output discarded, and waits for it at most
/// [`PROBE_TIMEOUT`]. It runs in a process group of its own, and one that does not answer is
/// killed with its whole group: a client stuck on its engine may have started helpers
/// (podman's conmon, a wrapper script's children) that would otherwise outlive the run.
fn wait_bounded(mut command: Command, what: &str) -> Result<std::process::ExitStatus, String> {
    use std::os::unix::process::CommandExt;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|err| format!("cannot start {what}: {err}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() > PROBE_TIMEOUT => {
                // SAFETY: plain syscall; the group is the child's own (process_group(0)).
                unsafe {
                    libc::killpg(child.id() as i32, libc::SIGKILL);
                }
                let _ = child.wait();
                return Err(format!(
                    "{what} gave no answer in {}s",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => return Err(format!("{what}: {err}")),
        }
    }
}

/// Everything a cell's run needs to know about where things are.
#[derive(Debug, Clone)]
pub struct CellLaunch {
    pub cell: String,
    /// The container's name ([`container_name`]).
    pub container: String,
    /// The run directory, canonical ([`canonical_run`]): containers carry it as the label
    /// [`RUN_LABEL`], so `podman ps --filter label=…` finds one run's containers and no other's.
    pub run_dir: PathBuf,
    /// The rendered script, as `matrix render` writes it.
    pub script: PathBuf,
    pub cache_dir: PathBuf,
    pub work_dir: PathBuf,
    pub artifact_dir: PathBuf,
    /// `make -j` inside the cell, and a container's CPU count.
    pub jobs: usize,
    /// The cell's image (containers only).
    pub image: String,
    /// A container's memory limit, in the engine's notation (`16g`).
    pub memory: String,
    /// Without the engine's seccomp filter: its default profile refuses `personality(2)`,
    /// which `setarch -R` (TSan's ASLR precondition) calls.
    pub unconfined: bool,
    /// The source's name in the cache when the run made it (`MATRIX_SOURCE_FILE`, a checkout's
    /// tarball), and its identity (`MATRIX_SOURCE_ID`): the script is `matrix render`'s, so
    /// what only the run knows reaches it by environment.
    pub source_file: Option<String>,
    pub source_id: String,
}

impl CellLaunch {
    /// The run's source variables, for host and container runs alike.
    fn source_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("MATRIX_SOURCE_ID", self.source_id.clone())];
        if let Some(file) = &self.source_file {
            env.push(("MATRIX_SOURCE_FILE", file.clone()));
        }
        env
    }
}

/// Paths inside a container.
const IN_CACHE: &str = "/matrix/cache";
const IN_WORK: &str = "/matrix/work";
const IN_ARTIFACTS: &str = "/matrix/artifacts";
const IN_SCRIPT: &str = "/matrix/script.sh";
/// What a script saves of its environment in its work directory (`save_cell_env` in
/// body.sh.j2), for a shell that picks up where the cell ended.
pub const CELL_ENV_FILE: &str = "cell-env.sh";

impl Engine {
    /// The command that runs the cell's script.
    pub fn command(&self, launch: &CellLaunch) -> Command {
        match self {
            Engine::Host => {
                let mut command = Command::new("bash");
                command
                    .arg(&launch.script)
                    .env("MATRIX_CACHE_DIR", &launch.cache_dir)
                    .env("MATRIX_WORK_DIR", &launch.work_dir)
                    .env("MATRIX_ARTIFACT_DIR", &launch.artifact_dir)
                    .env("MATRIX_JOBS", launch.jobs.to_string())
                    .envs(launch.source_env());
                command
            }
            Engine::Container(tool) => {
                let mut command = Command::new(tool.program());
                command.args(container_args(launch, &["bash", IN_SCRIPT]));
                command
            }
        }
    }

    /// An interactive shell in the cell's kept work directory, in its image for a container
    /// engine, started with the environment its script saved there (`cell-env.sh`: the
    /// variables the tests ran with, `matrix_tests`, and a `cd` into the source tree).
    pub fn shell_command(&self, launch: &CellLaunch) -> Command {
        match self {
            Engine::Host => {
                let mut command = Command::new("bash");
                command
                    .arg("--rcfile")
                    .arg(launch.work_dir.join(CELL_ENV_FILE))
                    .arg("-i");
                command
            }
            Engine::Container(tool) => {
                let mut command = Command::new(tool.program());
                let rcfile = format!("{IN_WORK}/{CELL_ENV_FILE}");
                command.args(container_args(launch, &["bash", "--rcfile", &rcfile, "-i"]));
                command
            }
        }
    }

    /// What stops a running cell besides TERM to its process: the container's own stop.
    pub fn stop_command(&self, container: &str, grace: Duration) -> Option<Command> {
        match self {
            Engine::Host => None,
            Engine::Container(tool) => {
                let mut command = Command::new(tool.program());
                command
                    .args(["stop", "-t", &grace.as_secs().to_string()])
                    .arg(container);
                Some(command)
            }
        }
    }

    /// Removes what a cell leaves behind in the engine (a container that outlived `--rm`).
    pub fn cleanup_command(&self, container: &str) -> Option<Command> {
        match self {
            Engine::Host => None,
            Engine::Container(tool) => {
                let mut command = Command::new(tool.program());
                command.args(["rm", "-f"]).arg(container);
                Some(command)
            }
        }
    }
}

/// Containers are named after their cells, so a leftover one says what it was, and after their
/// run directory (the short id of its canonical path), so two runs of the same cell at once,
/// from two run directories, neither clash nor stop each other's containers. The same run
/// directory, however it is spelled (`run`, `./run/`, a symlink), gives the same names, so a
/// `--resume` finds what an interrupted attempt left.
pub fn container_name(run_root: &Path, cell: &str) -> String {
    let root = canonical_run(run_root);
    let run = crate::finding::short_id([root.to_string_lossy().as_ref()]);
    format!("matrix-run-{cell}-{run}")
}

/// The label every cell container carries: its run directory's canonical path.
pub const RUN_LABEL: &str = "io.github.cpython-matrix.run";

/// A run directory as one spelling: canonical where it exists, else absolute.
pub fn canonical_run(run_root: &Path) -> PathBuf {
    std::fs::canonicalize(run_root)
        .or_else(|_| std::path::absolute(run_root))
        .unwrap_or_else(|_| run_root.to_path_buf())
}

/// `run` arguments for podman and docker alike: the pod's limits and the three mounts, then the
/// image and what runs in it (interactive, with a terminal, when it is not the script).
fn container_args(launch: &CellLaunch, run: &[&str]) -> Vec<String> {
    let mount = |host: &Path, inside: &str, mode: &str| {
        format!("--volume={}:{inside}:{mode}", host.display())
    };
    let mut args: Vec<String> = vec![
        "run".into(),
        "--rm".into(),
        format!("--name={}", launch.container),
        format!("--label={RUN_LABEL}={}", launch.run_dir.display()),
        format!("--memory={}", launch.memory),
        format!("--cpus={}", launch.jobs),
    ];
    if launch.unconfined {
        args.push("--security-opt=seccomp=unconfined".into());
    }
    if run != ["bash", IN_SCRIPT] {
        args.push("--interactive".into());
        args.push("--tty".into());
    }
    args.extend([
        mount(&launch.cache_dir, IN_CACHE, "rw"),
        mount(&launch.work_dir, IN_WORK, "rw"),
        mount(&launch.artifact_dir, IN_ARTIFACTS, "rw"),
        mount(&launch.script, IN_SCRIPT, "ro"),
        format!("--env=MATRIX_CACHE_DIR={IN_CACHE}"),
        format!("--env=MATRIX_WORK_DIR={IN_WORK}"),
        format!("--env=MATRIX_ARTIFACT_DIR={IN_ARTIFACTS}"),
        format!("--env=MATRIX_JOBS={}", launch.jobs),
    ]);
    for (name, value) in launch.source_env() {
        args.push(format!("--env={name}={value}"));
    }
    args.push(launch.image.clone());
    args.extend(run.iter().map(|word| word.to_string()));
    args
}

/// A Kubernetes memory quantity (`16Gi`, `8G`, `512Mi`) as podman/docker's `--memory` (`16g`):
/// binary units, as the engines count them.
pub fn engine_memory(quantity: &str) -> Result<String> {
    let digits = quantity
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(digits);
    let suffix = match unit {
        "Gi" | "G" => "g",
        "Mi" | "M" => "m",
        "Ki" | "k" => "k",
        "" => "b",
        _ => "",
    };
    if number.is_empty() || suffix.is_empty() {
        bail!(
            "memory limit `{quantity}` cannot be given to a container engine: use a whole \
             number with Gi, Mi or Ki (e.g. 16Gi)"
        );
    }
    Ok(format!("{number}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_saves_its_environment_where_the_shell_reads_it() {
        let body = include_str!("../templates/body.sh.j2");
        assert!(body.contains(&format!("\"$MATRIX_WORK_DIR/{CELL_ENV_FILE}\"")));
    }

    fn launch() -> CellLaunch {
        CellLaunch {
            cell: "amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug".into(),
            container: "matrix-run-amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug-0123abcd".into(),
            run_dir: "/run".into(),
            script: "/run/scripts/c.sh".into(),
            cache_dir: "/home/u/.cache/matrix/sources".into(),
            work_dir: "/run/work/c".into(),
            artifact_dir: "/run/artifacts/c".into(),
            jobs: 2,
            image: "ghcr.io/x/build-cpython:ubuntu-24.04".into(),
            memory: "16g".into(),
            unconfined: false,
            source_file: Some("Python-main-0123456789abcdef.tar".into()),
            source_id: "git:0123456789abcdef0123456789abcdef01234567+dirty".into(),
        }
    }

    #[test]
    fn an_unconfined_cell_runs_without_the_seccomp_filter() {
        let script = ["bash", IN_SCRIPT];
        let confined = container_args(&launch(), &script);
        let unconfined = container_args(
            &CellLaunch {
                unconfined: true,
                ..launch()
            },
            &script,
        );
        assert!(!confined.iter().any(|a| a.starts_with("--security-opt")));
        assert_eq!(unconfined[6], "--security-opt=seccomp=unconfined");
        assert_eq!(unconfined.len(), confined.len() + 1);
    }

    #[test]
    fn a_container_gets_the_pods_limits_mounts_and_image() {
        let args = container_args(&launch(), &["bash", IN_SCRIPT]);
        assert_eq!(
            args,
            [
                "run",
                "--rm",
                "--name=matrix-run-amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug-0123abcd",
                "--label=io.github.cpython-matrix.run=/run",
                "--memory=16g",
                "--cpus=2",
                "--volume=/home/u/.cache/matrix/sources:/matrix/cache:rw",
                "--volume=/run/work/c:/matrix/work:rw",
                "--volume=/run/artifacts/c:/matrix/artifacts:rw",
                "--volume=/run/scripts/c.sh:/matrix/script.sh:ro",
                "--env=MATRIX_CACHE_DIR=/matrix/cache",
                "--env=MATRIX_WORK_DIR=/matrix/work",
                "--env=MATRIX_ARTIFACT_DIR=/matrix/artifacts",
                "--env=MATRIX_JOBS=2",
                "--env=MATRIX_SOURCE_ID=git:0123456789abcdef0123456789abcdef01234567+dirty",
                "--env=MATRIX_SOURCE_FILE=Python-main-0123456789abcdef.tar",
                "ghcr.io/x/build-cpython:ubuntu-24.04",
                "bash",
                "/matrix/script.sh",
            ]
        );
    }

    #[test]
    fn a_shell_is_the_cells_container_with_a_terminal_and_its_saved_environment() {
        let shell = Engine::Container(ContainerTool::Podman).shell_command(&launch());
        let args: Vec<String> = shell
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let script = container_args(&launch(), &["bash", IN_SCRIPT]);
        assert!(args.contains(&"--interactive".to_string()) && args.contains(&"--tty".to_string()));
        assert_eq!(args.len(), script.len() + 4, "{args:?}");
        assert_eq!(
            args[args.len() - 4..],
            ["bash", "--rcfile", "/matrix/work/cell-env.sh", "-i"]
        );
        let host = Engine::Host.shell_command(&launch());
        assert_eq!(
            host.get_args().collect::<Vec<_>>(),
            ["--rcfile", "/run/work/c/cell-env.sh", "-i"]
        );
    }

    #[test]
    fn host_runs_the_script_with_bash_and_the_run_directories() {
        let command = Engine::Host.command(&launch());
        assert_eq!(command.get_program(), "bash");
        let env: Vec<_> = command
            .get_envs()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.unwrap().to_string_lossy()))
            .collect();
        assert!(env.contains(&"MATRIX_JOBS=2".to_string()), "{env:?}");
        assert!(env.contains(&"MATRIX_WORK_DIR=/run/work/c".to_string()));
        assert!(env.contains(&"MATRIX_SOURCE_FILE=Python-main-0123456789abcdef.tar".to_string()));
        assert!(Engine::Host
            .stop_command("c", Duration::from_secs(1))
            .is_none());
    }

    #[test]
    fn containers_of_two_run_directories_have_two_names() {
        let cell = "amd64-u24.04-py3.13.5-gcc-asan-shared-pre-debug";
        let one = container_name(Path::new("/runs/tonight"), cell);
        let again = container_name(Path::new("/runs/tonight"), cell);
        let other = container_name(Path::new("/runs/last-week"), cell);
        assert_eq!(one, again);
        assert_ne!(one, other);
        assert!(one.starts_with(&format!("matrix-run-{cell}-")), "{one}");
        // What podman and docker accept as a name.
        assert!(one
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
        // A relative run directory is named by where it is.
        let here = std::env::current_dir().unwrap().join("run");
        assert_eq!(
            container_name(Path::new("run"), cell),
            container_name(&here, cell)
        );
        // An existing one by what it is, however it is spelled.
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        std::fs::create_dir(&run).unwrap();
        std::os::unix::fs::symlink(&run, tmp.path().join("link")).unwrap();
        let name = container_name(&run, cell);
        for spelling in [
            tmp.path().join("run/"),
            tmp.path().join("run/../run/."),
            tmp.path().join("link"),
        ] {
            assert_eq!(
                container_name(&spelling, cell),
                name,
                "{}",
                spelling.display()
            );
        }
    }

    #[test]
    fn memory_quantities_become_engine_sizes() {
        assert_eq!(engine_memory("16Gi").unwrap(), "16g");
        assert_eq!(engine_memory("512Mi").unwrap(), "512m");
        let err = engine_memory("1.5Gi").unwrap_err().to_string();
        assert!(err.contains("`1.5Gi`"), "{err}");
    }

    #[test]
    fn a_named_engine_that_does_not_answer_is_an_error_naming_it() {
        // No engine answers on a machine without `podman`: the message says what to do.
        if probe(ContainerTool::Podman).is_ok() {
            eprintln!("skipped: podman answers on this machine");
            return;
        }
        let err = Engine::choose(EngineChoice::Podman, "`engine`")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`engine` podman") && err.contains("`engine` host"),
            "{err}"
        );
    }
}

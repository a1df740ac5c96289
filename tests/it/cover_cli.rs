//! `--cover T`, `--cover-seed`, `--include` and `explain --cover` run as a user runs them.

use std::collections::BTreeSet;

use predicates::prelude::*;

use crate::common::matrix;

fn ids(args: &[&str]) -> Vec<String> {
    let out = matrix().arg("list").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn list_cover_2_is_21_cells_of_the_matrix_in_its_order_and_the_same_every_time() {
    let all = ids(&[]);
    let cover = ids(&["--cover", "2"]);
    assert_eq!(cover.len(), 21);
    assert_eq!(cover, ids(&["--cover", "2", "--cover-seed", "0"]));
    // A subsequence of the full list: real cells, definition order.
    let mut rest = all.iter();
    assert!(cover.iter().all(|id| rest.any(|a| a == id)));
    assert_eq!(ids(&["--cover", "3"]).len(), 59);
}

#[test]
fn seeds_rotate_the_cover_and_filters_apply_first() {
    let seeds: BTreeSet<Vec<String>> = (0..4)
        .map(|s| ids(&["--cover", "2", "--cover-seed", &s.to_string()]))
        .collect();
    assert!(seeds.len() > 1, "every seed gave the same cover");
    assert!(seeds.iter().all(|c| c.len() == 21));
    let amd64 = ids(&["--cover", "2", "--only", "platform=amd64"]);
    assert!(!amd64.is_empty() && amd64.iter().all(|id| id.starts_with("amd64-")));
}

#[test]
fn included_cells_are_kept_and_the_cover_completed_around_them() {
    let failures = [
        "amd64-f40-py3.12.4-gcc-default",
        "arm64-u24.04-py3.13.0b4-clang19-hwasan-static-nog-pre-release",
        "amd64-u24.04-py3.13.0b4-clang19-asan-shared-pre-nogil",
    ];
    let cover = ids(&[
        "--cover",
        "2",
        "--include",
        failures[0],
        failures[1],
        "--include",
        failures[2],
    ]);
    assert!(failures.iter().all(|f| cover.iter().any(|id| id == f)));
    assert!(cover.len() >= 21, "{}", cover.len());
    // Comma-separated, as a list pasted from a report.
    assert_eq!(
        cover,
        ids(&["--cover", "2", "--include", &failures.join(",")])
    );
}

#[test]
fn bad_cover_flags_fail_with_a_message_and_no_output() {
    for (args, message) in [
        (
            &[
                "list",
                "--cover",
                "2",
                "--include",
                "amd64-f40-py3.12.4-gcc-defualt",
            ][..],
            "did you mean `amd64-f40-py3.12.4-gcc-default`",
        ),
        (
            &[
                "list",
                "--cover",
                "2",
                "--only",
                "platform=arm64",
                "--include",
                "amd64-f40-py3.12.4-gcc-default",
            ][..],
            "(only platform=arm64) leave it out",
        ),
        (&["list", "--cover", "5"][..], "5 is not in 2..=4"),
        (&["list", "--cover", "1"][..], "1 is not in 2..=4"),
        (&["list", "--cover-seed", "3"][..], "--cover <T>"),
        (&["list", "--include", "x"][..], "--cover <T>"),
        (
            &["explain", "--rules", "--cover", "2"][..],
            "cannot be used",
        ),
    ] {
        matrix()
            .args(args)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn explain_cover_reports_tuples_bound_and_size() {
    let out = matrix().args(["explain", "--cover", "3"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap(), @r"
    742 cells hold 1341 distinct 3-way value tuples
    lower bound: 52 cells (compiler × sanitizer × configure have 52 valid value tuples and each cell holds one)
    cover: 59 cells, 8.0% of 742 (seed 0)
    ");
    let out = matrix()
        .args([
            "explain",
            "--cover",
            "2",
            "--format",
            "json",
            "platform=amd64",
            "--include",
            "amd64-f40-py3.12.4-gcc-default",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["strength"], 2);
    assert_eq!(json["cells"], 259);
    assert_eq!(json["included"], 1);
    let size = json["size"].as_u64().unwrap();
    assert!(size >= json["lower_bound"].as_u64().unwrap());
    // The size is what list prints for the same selection.
    let listed = ids(&[
        "--cover",
        "2",
        "--only",
        "platform=amd64",
        "--include",
        "amd64-f40-py3.12.4-gcc-default",
    ]);
    assert_eq!(listed.len() as u64, size);
    assert_eq!(json["bound_axes"].as_array().unwrap().len(), 2);
}

#[test]
fn render_and_workflow_take_the_cover() {
    let tmp = tempfile::tempdir().unwrap();
    let out = matrix()
        .current_dir(tmp.path())
        .args(["render", "--out", "scripts", "--cover", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cover = ids(&["--cover", "2"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rendered: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(rendered, cover);
    let scripts = std::fs::read_dir(tmp.path().join("scripts"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("sh".as_ref()))
        .count();
    assert_eq!(scripts, 21);

    let out = matrix()
        .args([
            "workflow",
            "--kind",
            "cron-workflow",
            "--schedule",
            "0 3 * * *",
            "--cover",
            "2",
            "--cover-seed",
            "7",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(yaml.contains("kind: CronWorkflow"));
    let seeded = ids(&["--cover", "2", "--cover-seed", "7"]);
    let all = ids(&[]);
    // Each cell is an item of the fan-out list: `{"cell":"<id>",...}`.
    for id in &all {
        let present = yaml.contains(&format!("\"cell\":\"{id}\""));
        assert_eq!(present, seeded.contains(id), "{id}");
    }
}

//! `matrix findings` with memory, end to end: one race in either order is one finding; reports
//! quoted in Python text, in per-process sanitizer log files and cut short are all counted,
//! canaries never; the known-findings catalog round trip (`--known`, `--update`, `--new`,
//! `--fail-on-new`) and its errors; suppression files; `--diff` against results with old ids.

use crate::common::{csv_rows, TestContext};

/// A TSan race whose current access is `first` and previous `second` (function, file).
fn race(pid: u32, first: (&str, &str), second: (&str, &str)) -> String {
    format!(
        "==================\n\
         WARNING: ThreadSanitizer: data race (pid={pid})\n\
         \x20 Write of size 8 at 0x7b04 by thread T1:\n\
         \x20   #0 free <null> (python+0x4a2bb3)\n\
         \x20   #1 _PyMem_RawFree /src/Python-3.13.0b4/Objects/obmalloc.c:90:5 (python+0x1)\n\
         \x20   #2 {} /src/Python-3.13.0b4/{}:10:9 (python+0x2)\n\
         \x20   #3 _PyEval_EvalFrameDefault /src/Python-3.13.0b4/Python/bytecodes.c:1:1 (python+0x3)\n\
         \n\
         \x20 Previous read of size 8 at 0x7b04 by main thread:\n\
         \x20   #0 {} /src/Python-3.13.0b4/{}:20:9 (python+0x4)\n\
         \x20   #1 _PyEval_EvalFrameDefault /src/Python-3.13.0b4/Python/bytecodes.c:1:1 (python+0x3)\n\
         \n\
         SUMMARY: ThreadSanitizer: data race in x\n\
         ==================\n",
        first.0, first.1, second.0, second.1
    )
}

const FREE: (&str, &str) = ("free_threadstate", "Python/pystate.c");
const GIL: (&str, &str) = ("take_gil", "Python/ceval_gil.c");

const UAF: &str = "==77==ERROR: AddressSanitizer: heap-use-after-free on address 0x602\n\
READ of size 8 at 0x602 thread T0\n\
    #0 0x4 in PyObject_GC_Del /src/Python-3.13.0b4/Modules/gcmodule.c:2000:5\n\
    #1 0x5 in dict_dealloc /src/Python-3.13.0b4/Objects/dictobject.c:2400:3\n\
SUMMARY: AddressSanitizer: heap-use-after-free Modules/gcmodule.c:2000:5 in PyObject_GC_Del\n";

const UBSAN: &str = "/src/Python-3.13.0b4/Objects/longobject.c:123:5: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n\
    #0 0x55 in long_add /src/Python-3.13.0b4/Objects/longobject.c:123:5\n";

fn log(body: &str) -> String {
    format!("+ ./python -m test -j2\n0:00:01 load avg: 1.0 [ 1/3] test_threading\n{body}0:00:02 load avg: 1.0 [ 2/3] test_os\n")
}

/// Two logs: a race in one, a use after free in the other.
fn race_and_use_after_free() -> TestContext {
    let t = TestContext::new();
    t.write("logs/build_001-1.sh.txt", log(&race(1, FREE, GIL)));
    t.write("logs/build_002-1.sh.txt", log(UAF));
    t
}

fn rows(t: &TestContext, args: &[&str]) -> Vec<std::collections::BTreeMap<String, String>> {
    csv_rows(t.stdout(args).as_bytes())
}

#[test]
fn a_race_in_either_order_is_one_finding_listing_both_old_ids() {
    let t = TestContext::new();
    t.write("logs/build_001-1.sh.txt", log(&race(1, FREE, GIL)));
    t.write("logs/build_002-1.sh.txt", log(&race(2, GIL, FREE)));
    let found = rows(&t, &["findings", "logs", "--format", "csv"]);
    assert_eq!(found.len(), 1, "{found:?}");
    let race = &found[0];
    assert_eq!(race["frames"], "free_threadstate | take_gil");
    assert_eq!(
        (race["reports"].as_str(), race["cells"].as_str()),
        ("2", "2")
    );
    assert_eq!(
        race["legacy_ids"].split(' ').count(),
        2,
        "one old id per order"
    );
    assert_eq!(race["truncated"], "0");
    // Results written with the old ids pair with it: persisting, not two gone and one new.
    let mut old = String::from("id,tool,kind,frames,reports,cells\n");
    for id in race["legacy_ids"].split(' ') {
        old.push_str(&format!("{id},ThreadSanitizer,data race,x < y,3,1\n"));
    }
    t.write("old.csv", old);
    let diff = rows(
        &t,
        &["findings", "--diff", "old.csv", "logs", "--format", "csv"],
    );
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0]["status"], "persisting");
    assert_eq!(diff[0]["id"], race["id"]);
    assert_eq!(diff[0]["old_reports"], "6");
    // A catalog kept with the old ids still knows it.
    let old_id = race["legacy_ids"].split(' ').next().unwrap();
    t.write(
        "known.csv",
        format!("id,status,link,note,first_seen,last_seen\n{old_id},open,,,,\n"),
    );
    let known = rows(
        &t,
        &[
            "findings",
            "logs",
            "--known",
            "known.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(known[0]["status"], "known");
}

#[test]
fn quoted_cut_short_and_log_file_reports_count_and_canaries_never() {
    let t = TestContext::new();
    let quoted = "AssertionError: b'==9297==ERROR: HWAddressSanitizer: tag-mismatch on address 0xeead\\nWRITE of size 8 at 0xeead tags: 52/00 (ptr/mem) in thread T0\\n    #0 0x561de8 in _PyMem_DebugRawFree Objects/obmalloc.c:2162\\n    #1 0x562160 in PyMem_Free Objects/obmalloc.c:732\\n' != b''\n";
    let body = format!(
        "::matrix:: event=stage-start stage=canaries time=T\n\
         ::matrix:: event=canary name=heap-overflow-small result=seen time=T\n\
         ==5==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n\
         \x20   #0 0x1 in main /src/Python-3.13.0b4/Programs/canary.c:3\n\
         SUMMARY: AddressSanitizer: heap-buffer-overflow\n\
         ::matrix:: event=stage-end stage=canaries status=0 time=T\n\
         ::matrix:: event=stage-start stage=tests time=T\n\
         {}{quoted}\
         ::matrix:: event=stage-end stage=tests status=1 time=T\n\
         ::matrix:: event=finish stage=tests status=1 cell=c1 time=T\n\
         ::matrix:: event=sanitizer-log file=asan.4242 time=T\n\
         {}",
        log(UAF),
        // The log file's report, cut short by the end of the log.
        UAF.lines()
            .take(4)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    t.write("logs/c1.log", body);
    let out = t.stdout(&["findings", "logs", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reports"], 3, "{out}");
    let findings = v["findings"].as_array().unwrap();
    let uaf = findings
        .iter()
        .find(|f| f["kind"] == "heap-use-after-free")
        .unwrap();
    assert_eq!(
        (uaf["reports"].as_u64(), uaf["truncated"].as_u64()),
        (Some(2), Some(1))
    );
    let hw = findings
        .iter()
        .find(|f| f["tool"] == "HWAddressSanitizer")
        .unwrap();
    assert_eq!(
        (hw["reports"].as_u64(), hw["quoted"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        !out.contains("heap-buffer-overflow"),
        "a canary's report is no finding: {out}"
    );
    let cells = rows(&t, &["findings", "logs", "--cells", "--format", "csv"]);
    let stages: Vec<&str> = cells.iter().map(|r| r["stages"].as_str()).collect();
    assert_eq!(
        stages,
        ["Tests", "Tests"],
        "the log file's report is of the last stage"
    );
}

#[test]
fn the_catalog_round_trip() {
    let t = race_and_use_after_free();
    let night = |label: &str, extra: &[&str]| {
        let mut args = vec![
            "findings",
            "logs",
            "--format",
            "csv",
            "--known",
            "known.csv",
        ];
        args.extend(["--update", "--run-label", label]);
        args.extend(extra);
        rows(&t, &args)
    };
    // Night 1: no catalog yet; everything is new and is written down.
    let first = night("night-1", &[]);
    assert!(first.iter().all(|r| r["status"] == "new"), "{first:?}");
    let catalog = csv_rows(
        std::fs::read_to_string(t.path().join("known.csv"))
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(catalog.len(), 2);
    assert!(catalog
        .iter()
        .all(|r| r["status"] == "open" && r["first_seen"] == "night-1"));
    // Night 2: one more log; only its finding is new.
    t.write("logs/build_003-1.sh.txt", log(UBSAN));
    let second = night("night-2", &[]);
    let statuses: Vec<(&str, &str)> = second
        .iter()
        .map(|r| (r["tool"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(
        statuses[0],
        ("UndefinedBehaviorSanitizer", "new"),
        "new first: {statuses:?}"
    );
    assert!(
        statuses[1..].iter().all(|(_, s)| *s == "known"),
        "{statuses:?}"
    );
    assert_eq!(statuses.len(), 3);
    let catalog = std::fs::read_to_string(t.path().join("known.csv")).unwrap();
    let catalog = csv_rows(catalog.as_bytes());
    assert_eq!(catalog.len(), 3);
    assert_eq!(
        (
            catalog[0]["first_seen"].as_str(),
            catalog[0]["last_seen"].as_str()
        ),
        ("night-1", "night-2")
    );
    assert_eq!(catalog[2]["first_seen"], "night-2");
    // Night 3: nothing new; --fail-on-new passes. Marked fixed, a finding seen again has
    // regressed: --new lists it alone and --fail-on-new fails, the listing still printed.
    t.matrix()
        .args([
            "findings",
            "logs",
            "--known",
            "known.csv",
            "--fail-on-new",
            "--format",
            "csv",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(t.path().join("known.csv")).unwrap();
    let asan = &catalog
        .iter()
        .find(|r| r["note"].starts_with("AddressSanitizer"))
        .unwrap()["id"];
    t.write(
        "known.csv",
        text.replace(&format!("{asan},open"), &format!("{asan},fixed")),
    );
    let out = t
        .matrix()
        .args([
            "findings",
            "logs",
            "--known",
            "known.csv",
            "--new",
            "--fail-on-new",
        ])
        .args(["--format", "csv"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let listed = csv_rows(&out.stdout);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["id"].as_str(), listed[0]["status"].as_str()),
        (asan.as_str(), "regressed")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 new or regressed finding(s)"));
}

#[test]
fn a_bad_catalog_names_file_line_value_and_what_is_valid() {
    let t = TestContext::new();
    t.write("logs/build_001-1.sh.txt", log(UAF));
    t.write(
        "known.csv",
        "id,status,link,note,first_seen,last_seen\n0123abcd,open,,,,\n89abcdef,closed,,,,\n",
    );
    let err = t.refused(&["findings", "logs", "--known", "known.csv"]);
    assert!(
        err.contains(
            "known.csv: line 3: status \"closed\": valid statuses are open, fixed, ignored, flaky"
        ),
        "{err}"
    );
    // A missing catalog is an error unless --update creates it.
    let err = t.refused(&["findings", "logs", "--known", "none.csv"]);
    assert!(err.contains("none.csv"), "{err}");
    let err = t.refused(&["findings", "logs", "--new"]);
    assert!(err.contains("--known"), "{err}");
}

#[test]
fn suppression_files_in_each_sanitizers_syntax() {
    let t = TestContext::new();
    t.write("logs/build_001-1.sh.txt", log(&race(1, FREE, GIL)));
    t.write("logs/build_002-1.sh.txt", log(UBSAN));
    let tsan = t.stdout(&["findings", "logs", "--suppressions", "tsan"]);
    // take_gil is its stack's top frame; free_threadstate is below `free`.
    assert!(
        tsan.contains("\nrace:free_threadstate\nrace_top:take_gil\n"),
        "{tsan}"
    );
    assert!(
        tsan.contains(
            "data race: free_threadstate | take_gil (1 reports)\n# cells: build_001.sh\n"
        ),
        "{tsan}"
    );
    // A race of a site with itself is one entry.
    t.write("self/build_009-1.sh.txt", log(&race(9, GIL, GIL)));
    let itself = t.stdout(&["findings", "self", "--suppressions", "tsan"]);
    assert_eq!(itself.matches("take_gil\n").count(), 1, "{itself}");
    let ubsan = t.stdout(&["findings", "logs", "--suppressions", "ubsan"]);
    assert!(
        ubsan.contains("\nsigned-integer-overflow:Objects/longobject.c\n"),
        "{ubsan}"
    );
    assert!(!ubsan.contains("race"), "{ubsan}");
    // With a catalog, only the findings it gives the status asked for, with their link.
    let id = rows(&t, &["findings", "logs", "--format", "csv"])
        .into_iter()
        .find(|r| r["tool"] == "ThreadSanitizer")
        .unwrap()["id"]
        .clone();
    t.write(
        "known.csv",
        format!("id,status,link,note,first_seen,last_seen\n{id},open,https://github.com/python/cpython/issues/1,,,\n"),
    );
    let open = t.stdout(&[
        "findings",
        "logs",
        "--suppressions",
        "tsan",
        "--known",
        "known.csv",
        "--status",
        "open",
    ]);
    assert!(
        open.contains("# https://github.com/python/cpython/issues/1\n"),
        "{open}"
    );
    let fixed = t.stdout(&[
        "findings",
        "logs",
        "--suppressions",
        "tsan",
        "--known",
        "known.csv",
        "--status",
        "fixed",
    ]);
    assert!(!fixed.contains("race"), "{fixed}");
}

#[test]
fn a_renamed_caller_is_the_same_family_and_not_only_on_its_version() {
    let t = TestContext::new();
    let hwasan = |caller: &str| {
        format!(
            "==1==ERROR: HWAddressSanitizer: tag-mismatch on address 0x1 at pc 0x2\n\
             READ of size 8 at 0x1 tags: 52/00 (ptr/mem) in thread T0\n\
             \x20   #0 0x3 in SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)0> ../../../../src/libsanitizer/hwasan/hwasan_checks.h:107\n\
             \x20   #1 0x4 in PyModuleDef_Init Objects/moduleobject.c:60\n\
             \x20   #2 0x5 in {caller} Python/importdl.c:9\n\
             SUMMARY: HWAddressSanitizer: tag-mismatch\n"
        )
    };
    t.write(
        "logs/build_001-1.sh.txt",
        log(&hwasan("_PyImport_LoadDynamicModuleWithSpec")),
    );
    t.write(
        "logs/build_002-1.sh.txt",
        log(&hwasan("_PyImport_RunModInitFunc")),
    );
    t.write(
        "index.csv",
        "script_name,python,sanitizer\nbuild_001.sh,3.12.4,hwasan\nbuild_002.sh,3.13.0b4,hwasan\n",
    );
    let found = rows(
        &t,
        &[
            "findings",
            "logs",
            "--index",
            "index.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(found.len(), 2);
    assert_eq!(found[0]["family"], found[1]["family"]);
    assert_ne!(found[0]["family"], found[0]["id"]);
    let shared: std::collections::BTreeSet<&str> =
        found.iter().map(|r| r["shared"].as_str()).collect();
    assert_eq!(shared, ["python=3.12.4", "python=3.13.0b4"].into());
    assert!(
        found.iter().all(|r| r["family_shared"].is_empty()),
        "{found:?}"
    );
    assert!(
        found[0]["frames"].starts_with("PyModuleDef_Init < "),
        "runtime frame skipped"
    );
    let table = t.stdout(&[
        "findings",
        "logs",
        "--index",
        "index.csv",
        "--format",
        "table",
    ]);
    assert!(!table.contains("python=3.1"), "{table}");
    // A catalog row of the family speaks for both signatures.
    t.write(
        "known.csv",
        format!(
            "id,status,link,note,first_seen,last_seen\n{},fixed,,,,\n",
            found[0]["family"]
        ),
    );
    let statuses = rows(
        &t,
        &[
            "findings",
            "logs",
            "--known",
            "known.csv",
            "--format",
            "csv",
        ],
    );
    assert!(
        statuses.iter().all(|r| r["status"] == "regressed"),
        "{statuses:?}"
    );
}

#[test]
fn the_report_page_lists_new_findings_first_and_folds_known_ones() {
    let t = race_and_use_after_free();
    let found = rows(&t, &["findings", "logs", "--format", "csv"]);
    let race_id = found
        .iter()
        .find(|r| r["tool"] == "ThreadSanitizer")
        .unwrap()["id"]
        .clone();
    let uaf_id = found
        .iter()
        .find(|r| r["tool"] == "AddressSanitizer")
        .unwrap()["id"]
        .clone();
    t.write(
        "known.csv",
        format!(
            "id,status,link,note,first_seen,last_seen\n{race_id},open,,,2026-12-01,2026-12-06\n"
        ),
    );
    t.stdout(&[
        "report",
        "logs",
        "--known",
        "known.csv",
        "--html",
        "page.html",
        "--format",
        "json",
    ]);
    let html = std::fs::read_to_string(t.path().join("page.html")).unwrap();
    let new_row = html
        .find(&format!("id=\"finding-{uaf_id}\""))
        .expect("the new finding");
    let folded = html
        .find("findings the catalog knows")
        .expect("the known ones, folded");
    let known_row = html
        .find(&format!("id=\"finding-{race_id}\""))
        .expect("the known finding");
    assert!(new_row < folded && folded < known_row, "{html}");
    assert!(
        html[new_row..folded].contains("status news\">new</span>"),
        "{html}"
    );
    assert!(
        html.contains("<b>1</b><span><a href=\"#findings\">new or regressed</a>"),
        "{html}"
    );
    // The catalog is for the page: without one, the command says so.
    let refused = t.refused(&["report", "logs", "--known", "known.csv"]);
    assert!(refused.contains("give --html or --adoc too"), "{refused}");
}

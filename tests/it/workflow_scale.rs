//! A 10,000-cell synthetic matrix (the built-in one with many more CPython versions) splits into
//! documents that each stay within the budget, name-sorted, holding every cell exactly once, and
//! each cell's script factored back is byte for byte its rendered script; the documents reach a
//! sink one at a time, as they are made.

use std::collections::BTreeSet;

use matrix::cell::Cell;
use matrix::definition::{Matrix, RawDefinition, RawValue, BUILTIN_DEFINITION};
use matrix::expand::{expand, ValueMask};
use matrix::render::Renderer;
use matrix::workflow::compact::Scripts;
use matrix::workflow::factor::factor;
use matrix::workflow::options::{Kind, Options, DEFAULT_MAX_BYTES};
use matrix::workflow::{build, stream, types::DocumentSpec, Part, Sink};

fn options(matrix: &Matrix) -> Options {
    Options {
        kind: Kind::Workflow,
        schedule: None,
        registry: matrix.image.registry.clone(),
        arch_axis: matrix
            .workflow
            .arch_axis
            .expect("the built-in definition has a platform axis"),
        parallelism: 3,
        deadline_seconds: 14_400,
        cpu: "2".into(),
        memory: "8Gi".into(),
        cpu_limit: None,
        memory_limit: Some("16Gi".into()),
        retry_limit: 2,
        ttl_seconds: 604_800,
        namespace: None,
        service_account: None,
        generate_name: "build-cpython-".into(),
        artifact_repository_ref: None,
        max_bytes: DEFAULT_MAX_BYTES,
    }
}

/// The built-in definition with CPython 3.13.0 … 3.13.N added until it has `at_least` cells.
fn synthetic(at_least: usize) -> (Matrix, Vec<Cell>) {
    let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "builtin").unwrap();
    let python = raw.axes.iter().position(|a| a.name == "python").unwrap();
    let mut patch = 0;
    loop {
        let matrix = Matrix::compile(raw.clone(), "synthetic").unwrap();
        let cells = expand(&matrix, &ValueMask::all(&matrix)).unwrap();
        if cells.len() >= at_least {
            return (matrix, cells);
        }
        raw.axes[python]
            .values
            .push(RawValue::Plain(format!("3.13.{patch}")));
        patch += 1;
    }
}

/// The cells' scripts in the compact form `workflow` factors.
fn compact(matrix: &Matrix, cells: &[Cell]) -> Scripts {
    Scripts::render(&Renderer::builtin().unwrap(), matrix, cells).unwrap()
}

#[test]
fn ten_thousand_cells_split_within_budget_and_each_appears_once() {
    let (matrix, cells) = synthetic(10_000);
    assert!(cells.len() >= 10_000);
    let emitted = build(&matrix, &cells, compact(&matrix, &cells), &options(&matrix)).unwrap();
    assert!(emitted.documents.len() > 1);
    let mut seen = BTreeSet::new();
    for (text, ids) in emitted.texts.iter().zip(&emitted.cells) {
        assert!(text.len() <= DEFAULT_MAX_BYTES, "{} bytes", text.len());
        for id in ids {
            assert!(seen.insert(id.clone()), "{id} twice");
        }
    }
    assert_eq!(seen.len(), cells.len());
    let names: Vec<&str> = emitted
        .documents
        .iter()
        .map(|d| d.metadata.generate_name.as_deref().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len());
    for doc in &emitted.documents {
        let DocumentSpec::Workflow(spec) = &doc.spec else {
            panic!("a Workflow")
        };
        assert_eq!(spec.templates.len(), 3);
    }
    eprintln!(
        "{} cells -> {} documents of {:?} bytes",
        cells.len(),
        emitted.documents.len(),
        emitted.texts.iter().map(String::len).collect::<Vec<_>>()
    );
}

#[test]
fn factoring_ten_thousand_scripts_gives_each_back_exactly() {
    let (matrix, cells) = synthetic(10_000);
    let scripts = Renderer::builtin()
        .unwrap()
        .render_all(&matrix, &cells)
        .unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    let texts: Vec<&str> = scripts.iter().map(|s| s.text.as_str()).collect();
    let images: Vec<String> = cells
        .iter()
        .map(|c| c.image(&matrix, "r.example"))
        .collect();
    let image_refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let mut names = vec!["cell".to_string()];
    names.extend(matrix.axes.iter().map(|a| a.name.clone()));
    let factored = factor(
        |c| ids[c],
        names,
        compact(&matrix, &cells),
        |c| image_refs[c],
        "line-",
    )
    .unwrap();
    let placeholders = factored.script.fields().count();
    assert!(placeholders > 0);
    let mut middle = 0;
    for (c, script) in texts.iter().enumerate() {
        // prefix + middle + suffix == the rendered file, for every cell.
        let row = factored.values.row(c);
        assert_eq!(factored.script.instantiate(&row), *script);
        assert_eq!(factored.image.instantiate(&row), images[c]);
        middle = middle.max(row.iter().map(|v| v.len()).sum::<usize>());
    }
    // What differs between cells is small next to the script.
    assert!(middle * 10 < texts[0].len(), "{middle}");
}

/// Records what reaches a sink, and refuses the documents after the first `accept`.
struct Recorder {
    accept: usize,
    texts: Vec<String>,
    restarts: usize,
}

impl Sink for Recorder {
    fn document(&mut self, part: Part<'_>) -> anyhow::Result<()> {
        if self.texts.len() == self.accept {
            anyhow::bail!("sink full after {} documents", self.accept);
        }
        assert!(
            part.text.len() <= DEFAULT_MAX_BYTES,
            "{} bytes",
            part.text.len()
        );
        self.texts.push(part.text.to_string());
        Ok(())
    }

    fn restart(&mut self) -> anyhow::Result<()> {
        self.restarts += 1;
        self.texts.clear();
        Ok(())
    }
}

#[test]
fn documents_reach_the_sink_one_at_a_time_as_they_are_made() {
    let (matrix, cells) = synthetic(10_000);
    let mut all = Recorder {
        accept: usize::MAX,
        texts: Vec::new(),
        restarts: 0,
    };
    let count = stream(
        &matrix,
        &cells,
        compact(&matrix, &cells),
        &options(&matrix),
        &mut all,
    )
    .unwrap();
    assert!(count > 2);
    assert_eq!((all.texts.len(), all.restarts), (count, 0));
    let emitted = build(&matrix, &cells, compact(&matrix, &cells), &options(&matrix)).unwrap();
    assert_eq!(all.texts, emitted.texts);
    // The sink's error on the second document ends the stream: the first was given before
    // the second was made, and nothing after it was made.
    let mut two = Recorder {
        accept: 1,
        texts: Vec::new(),
        restarts: 0,
    };
    let err = stream(
        &matrix,
        &cells,
        compact(&matrix, &cells),
        &options(&matrix),
        &mut two,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "sink full after 1 documents");
    assert_eq!(two.texts, emitted.texts[..1]);
}

//! Expansion and rendering, for the built-in matrix and a synthetic one of over 100,000 cells.
//! Run with `cargo bench --bench expand_render`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use matrix::definition::{Matrix, RawDefinition, RawValue, BUILTIN_DEFINITION};
use matrix::expand::{expand, ValueMask};
use matrix::index::index_csv;
use matrix::output::{write_dir, OutputFile};
use matrix::render::Renderer;

/// The built-in matrix with 240 more CPython versions (all ≥ 3.13): 102,502 cells.
fn synthetic() -> Matrix {
    let mut raw = RawDefinition::from_yaml(BUILTIN_DEFINITION, "bench").unwrap();
    let python = raw.axes.iter_mut().find(|a| a.name == "python").unwrap();
    for i in 0..240 {
        python
            .values
            .push(RawValue::Plain(format!("3.{}.{}", 13 + i / 20, i % 20)));
    }
    Matrix::compile(raw, "synthetic").unwrap()
}

fn benches(c: &mut Criterion) {
    let builtin = Matrix::builtin().unwrap();
    let renderer = Renderer::builtin().unwrap();
    let all = ValueMask::all(&builtin);

    c.bench_function("expand/default (742 cells)", |b| {
        b.iter(|| expand(&builtin, &all).unwrap())
    });
    c.bench_function("render/default in memory (742 scripts + CSV)", |b| {
        b.iter(|| {
            let cells = expand(&builtin, &all).unwrap();
            let scripts = renderer.render_all(&builtin, &cells).unwrap();
            let csv = index_csv(&builtin, &cells, "build_scripts", "r").unwrap();
            (scripts, csv)
        })
    });
    let tmp = tempfile::tempdir().unwrap();
    c.bench_function("render/default to disk (742 scripts + CSV)", |b| {
        b.iter_batched(
            || (),
            |()| {
                let cells = expand(&builtin, &all).unwrap();
                let scripts = renderer.render_all(&builtin, &cells).unwrap();
                let csv = index_csv(&builtin, &cells, "build_scripts", "r").unwrap();
                write_dir(
                    &tmp.path().join("build_scripts"),
                    false,
                    "bench",
                    &[],
                    &scripts
                        .iter()
                        .map(|s| OutputFile {
                            name: &s.file_name,
                            contents: s.text.as_bytes(),
                            executable: true,
                        })
                        .collect::<Vec<_>>(),
                )
                .unwrap();
                csv
            },
            BatchSize::PerIteration,
        )
    });

    let big = synthetic();
    let all_big = ValueMask::all(&big);
    let mut group = c.benchmark_group("synthetic");
    group.sample_size(10);
    group.bench_function("expand (102,502 cells)", |b| {
        b.iter(|| expand(&big, &all_big).unwrap())
    });
    group.bench_function("render in memory (102,502 scripts + CSV)", |b| {
        b.iter(|| {
            let cells = expand(&big, &all_big).unwrap();
            let scripts = renderer.render_all(&big, &cells).unwrap();
            let csv = index_csv(&big, &cells, "build_scripts", "r").unwrap();
            (scripts.len(), csv.len())
        })
    });
    group.finish();
}

criterion_group!(expand_render, benches);
criterion_main!(expand_render);

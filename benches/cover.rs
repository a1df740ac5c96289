//! `--cover T`: the default matrix for T = 2, 3, 4 (target: T=3 within 1 s) and a synthetic
//! matrix of 102,502 cells for T = 2 (target: within 10 s). Run with `cargo bench --bench cover`.
//! Expansion is outside the timed part: these time the cover alone.

use criterion::{criterion_group, criterion_main, Criterion};
use matrix::cover::{cover, CoverOptions};
use matrix::definition::{Matrix, RawDefinition, RawValue, BUILTIN_DEFINITION};
use matrix::expand::{expand, ValueMask};

/// The built-in matrix with 240 more CPython versions (all ≥ 3.13): 102,502 cells, the same
/// synthetic matrix as benches/expand_render.rs.
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

fn options(strength: usize) -> CoverOptions {
    CoverOptions {
        strength,
        ..CoverOptions::default()
    }
}

fn benches(c: &mut Criterion) {
    let builtin = Matrix::builtin().unwrap();
    let cells = expand(&builtin, &ValueMask::all(&builtin)).unwrap();
    let mut group = c.benchmark_group("cover/default (742 cells)");
    group.sample_size(10);
    for (strength, size) in [(2, 21), (3, 59), (4, 134)] {
        assert_eq!(
            cover(&cells, &options(strength)).unwrap().chosen.len(),
            size
        );
        group.bench_function(format!("T={strength} ({size} cells)"), |b| {
            b.iter(|| cover(&cells, &options(strength)).unwrap())
        });
    }
    group.finish();

    let big = synthetic();
    let cells = expand(&big, &ValueMask::all(&big)).unwrap();
    assert_eq!(cells.len(), 102_502);
    let size = cover(&cells, &options(2)).unwrap().chosen.len();
    let mut group = c.benchmark_group("cover/synthetic (102,502 cells)");
    group.sample_size(10);
    group.bench_function(format!("T=2 ({size} cells)"), |b| {
        b.iter(|| cover(&cells, &options(2)).unwrap())
    });
    group.finish();
}

criterion_group!(cover_benches, benches);
criterion_main!(cover_benches);

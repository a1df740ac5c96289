//! The CSV index of cells: one row per cell with its id, script, image and axis values.

use anyhow::Result;

use crate::cell::Cell;
use crate::definition::Matrix;

/// The index as CSV bytes: `id,script,image,<one column per axis>`, each cell neutralised for
/// spreadsheets like every CSV `matrix` writes (axis values never start with a formula
/// character, but the `--out` path in `script` may).
pub fn index_csv(
    matrix: &Matrix,
    cells: &[Cell],
    script_dir: &str,
    registry: &str,
) -> Result<Vec<u8>> {
    write_index_csv(matrix, cells, script_dir, registry, Vec::new())
}

/// [`index_csv`] into `out`, a row at a time (a run's index of a million cells is never
/// whole in memory); gives `out` back.
pub fn write_index_csv<W: std::io::Write>(
    matrix: &Matrix,
    cells: &[Cell],
    script_dir: &str,
    registry: &str,
    out: W,
) -> Result<W> {
    let mut writer = crate::spreadsheet::Writer::from_writer(out);
    let mut header = vec!["id", "script", "image"];
    header.extend(matrix.axis_names());
    writer.write_record(&header)?;
    let dir = script_dir.trim_end_matches('/');
    for cell in cells {
        let script = if dir.is_empty() {
            format!("{}.sh", cell.id)
        } else {
            format!("{dir}/{}.sh", cell.id)
        };
        let image = cell.image(matrix, registry);
        let mut row = vec![cell.id.as_str(), script.as_str(), image.as_str()];
        row.extend(cell.pairs(matrix).map(|(_, value)| value));
        writer.write_record(&row)?;
    }
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::{expand, ValueMask};

    #[test]
    fn header_and_rows_follow_the_definition() {
        let m = Matrix::builtin().unwrap();
        let cells = expand(&m, &ValueMask::all(&m)).unwrap();
        let csv =
            String::from_utf8(index_csv(&m, &cells[..1], "build_scripts", "reg.example").unwrap())
                .unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,script,image,platform,os,python,compiler,sanitizer,san_link,hwasan_option,preload,configure"
        );
        assert_eq!(
            lines.next().unwrap(),
            "amd64-f40-py3.12.4-gcc-debug,build_scripts/amd64-f40-py3.12.4-gcc-debug.sh,\
             reg.example/build-cpython:fedora-40,amd64,fedora-40,3.12.4,gcc,none,none,none,disabled,debug"
        );
    }
}

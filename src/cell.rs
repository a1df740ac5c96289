//! A cell of the matrix: one value per axis, and its stable, readable id.

use crate::definition::Matrix;

/// One valid combination: a value index per axis (definition order) and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub values: Box<[usize]>,
    pub id: String,
}

impl Cell {
    pub fn new(matrix: &Matrix, values: &[usize]) -> Self {
        Cell {
            id: cell_id(matrix, values),
            values: values.into(),
        }
    }

    /// The value name of `axis`.
    pub fn value<'m>(&self, matrix: &'m Matrix, axis: usize) -> &'m str {
        &matrix.axes[axis].values[self.values[axis]].name
    }

    /// `(axis name, value name)` pairs in definition order.
    pub fn pairs<'a>(
        &'a self,
        matrix: &'a Matrix,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        matrix
            .axes
            .iter()
            .zip(self.values.iter())
            .map(|(axis, &v)| (axis.name.as_str(), axis.values[v].name.as_str()))
    }

    /// The container image the cell runs in.
    pub fn image(&self, matrix: &Matrix, registry: &str) -> String {
        matrix
            .image
            .reference(registry, self.value(matrix, matrix.image.tag_axis))
    }
}

/// Non-empty id tokens of the values, joined by `-`. Tokens are checked against the Kubernetes
/// label alphabet when the definition is compiled; length and uniqueness when expanding.
pub fn cell_id(matrix: &Matrix, values: &[usize]) -> String {
    let mut id = String::with_capacity(64);
    for (axis, &v) in matrix.axes.iter().zip(values) {
        let token = &axis.values[v].id_token;
        if token.is_empty() {
            continue;
        }
        if !id.is_empty() {
            id.push('-');
        }
        id.push_str(token);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_leave_out_empty_tokens_and_prefix_versions() {
        let m = Matrix::builtin().unwrap();
        // arm64 ubuntu 3.13.0b4 clang-19 hwasan static no-globals enabled release
        let cell = Cell::new(&m, &[1, 1, 1, 2, 2, 2, 1, 0, 2]);
        assert_eq!(
            cell.id,
            "arm64-u24.04-py3.13.0b4-clang19-hwasan-static-nog-pre-release"
        );
        assert!(cell.id.len() <= 63);
        let plain = Cell::new(&m, &[0, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(plain.id, "amd64-f40-py3.12.4-gcc-default");
        assert_eq!(
            plain.image(&m, "registry.example/x/"),
            "registry.example/x/build-cpython:fedora-40"
        );
    }
}

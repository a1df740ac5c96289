//! CSV cells a spreadsheet cannot run: every CSV `report`, `report diff`, `findings`, `sarif`,
//! `explain --blind-spots`, `render`/`run` (the index) and `fetch` write goes through [`Writer`], which neutralises a cell a spreadsheet would read as a
//! formula (OWASP's CSV injection advice: a `'` in front), and every CSV `matrix` reads back
//! goes through [`original`], which takes that `'` away, so a round trip is exact.
//!
//! The rule, exact both ways: a cell gets a `'` in front when it starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return (and is not a plain number such as `-3` or `+1.5`, which a
//! spreadsheet reads as that number), or when it starts with `'` followed by one of those or
//! another `'` (so the escape itself is escaped). Reading drops one leading `'` exactly when
//! the next character is one of `= + - @ ' \t \r`. A person's `'quoted` value (next character a
//! letter) is read as it is.

use std::borrow::Cow;

/// The characters a spreadsheet takes as the start of a formula (or that hide one).
fn triggers(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// A plain decimal number with an optional sign (`-3`, `+1.5`): a spreadsheet reads it as a
/// number, not a formula, so it stays as it is.
fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `text` as a CSV cell a spreadsheet shows as text (see the module's rule).
pub fn neutral(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars();
    let escape = match chars.next() {
        Some('\'') => chars.next().is_some_and(|c| c == '\'' || triggers(c)),
        Some(c) => triggers(c) && !is_number(text),
        None => false,
    };
    if escape {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The value a cell written by [`neutral`] stands for.
pub fn original(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(|c: char| c == '\'' || triggers(c)) => rest,
        _ => cell,
    }
}

/// A CSV record read back as the values it stands for.
pub fn record(record: &csv::StringRecord) -> csv::StringRecord {
    record.iter().map(original).collect()
}

/// A `csv::Writer` (into memory unless made [`Writer::from_writer`]) whose every cell goes
/// through [`neutral`].
pub struct Writer<W: std::io::Write = Vec<u8>> {
    inner: csv::Writer<W>,
    /// Whether [`Writer::serialize`] has written its header (the field names) yet.
    header_written: bool,
}

impl Writer<Vec<u8>> {
    pub fn new() -> Self {
        Writer::from_writer(Vec::new())
    }
}

impl<W: std::io::Write> Writer<W> {
    /// A writer into `out` (a file, a spool): a large CSV need not be held in memory.
    pub fn from_writer(out: W) -> Self {
        Writer {
            inner: csv::Writer::from_writer(out),
            header_written: false,
        }
    }

    /// Writes one record; a field that is not UTF-8 is written as it is (no text of ours is).
    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let fields: Vec<Vec<u8>> = (record.into_iter())
            .map(|field| match std::str::from_utf8(field.as_ref()) {
                Ok(text) => neutral(text).as_bytes().to_vec(),
                Err(_) => field.as_ref().to_vec(),
            })
            .collect();
        self.inner.write_record(&fields)
    }

    /// Writes `value` as `csv::Writer::serialize` would (its field names as the header before
    /// the first row), every cell through [`neutral`]: serde's fields are written by csv into
    /// a scratch buffer and read back, so the columns stay exactly what serde makes of them.
    pub fn serialize<S: serde::Serialize>(&mut self, value: S) -> anyhow::Result<()> {
        let mut scratch = csv::WriterBuilder::new()
            .has_headers(!self.header_written)
            .from_writer(Vec::new());
        scratch.serialize(value)?;
        let bytes = scratch.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        self.header_written = true;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&bytes[..]);
        for record in reader.byte_records() {
            self.write_record(&record?)?;
        }
        Ok(())
    }

    /// Flushes the rows and gives back what they were written into.
    pub fn into_inner(self) -> anyhow::Result<W> {
        self.inner.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_get_a_quote_numbers_and_words_do_not() {
        for (value, cell) in [
            ("=1+1", "'=1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("+x", "'+x"),
            ("-fsanitize=address", "'-fsanitize=address"),
            ("\tx", "'\tx"),
            ("-3", "-3"),
            ("+1.5", "+1.5"),
            ("-", "'-"),
            ("'=x", "''=x"),
            ("''", "'''"),
            ("'quoted", "'quoted"),
            ("'", "'"),
            ("gcc", "gcc"),
            ("", ""),
        ] {
            assert_eq!(neutral(value), cell, "{value:?}");
            assert_eq!(original(cell), value, "{cell:?}");
        }
    }
}

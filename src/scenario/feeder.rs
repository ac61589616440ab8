//! `[[feeder]]`: rows of test data read from a CSV file at validation, so a missing file or column
//! is an error before any load. The `csv` crate is fenced here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How users take rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedOrder {
    /// One shared cursor: row 0, 1, 2, ... across all users.
    Sequential,
    /// A uniformly random row each time (never runs out).
    Random,
    /// Each user has rows of its own: user `u` of `U` takes rows `u`, `u + U`, `u + 2U`, ... so no
    /// two users ever share a row (accounts, carts).
    Unique,
}

/// What happens when a sequential or unique feeder runs out of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnEnd {
    /// Start again from the first row.
    Recycle,
    /// End the run (it is reported as stopped early).
    Stop,
}

/// A validated feeder with its rows loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct FeederSpec {
    /// Name used as `${name.column}`.
    pub name: String,
    /// The CSV file.
    pub path: PathBuf,
    /// Column names, from the header row.
    pub columns: Vec<String>,
    /// Data rows; every row has one value per column.
    pub rows: Arc<Vec<Vec<String>>>,
    /// Order of use.
    pub order: FeedOrder,
    /// At the end of the rows.
    pub on_end: OnEnd,
}

/// Column names and rows of a CSV file.
pub type Table = (Vec<String>, Vec<Vec<String>>);

/// Reads a CSV file with a header row. Errors are (problem, fix).
pub fn read_csv(path: &Path) -> Result<Table, (String, String)> {
    let bytes =
        crate::fsutil::read_limited(path, crate::fsutil::limits::FEEDER).map_err(|e| {
            (
                format!("cannot read `{}`: {e}", path.display()),
                "check the path: a CSV file of at most 256 MiB; a relative `file` is relative to the scenario file's folder"
                    .to_string(),
            )
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| bad_csv(path, &e))?
        .iter()
        .map(str::to_string)
        .collect();
    if columns.iter().all(|c| c.is_empty()) {
        return Err((
            format!("`{}` has no header row", path.display()),
            "put the column names on the first line, e.g. `id,sku`".to_string(),
        ));
    }
    if columns.iter().any(String::is_empty) {
        return Err((
            format!("`{}` has an empty column name", path.display()),
            "name every column in the header row".to_string(),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad_csv(path, &e))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err((
            format!("`{}` has a header but no data rows", path.display()),
            "add at least one row under the header".to_string(),
        ));
    }
    Ok((columns, rows))
}

fn bad_csv(path: &Path, e: &csv::Error) -> (String, String) {
    (
        format!("`{}` is not valid CSV: {e}", path.display()),
        "every row needs as many fields as the header; quote fields holding commas".to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn reads_header_and_rows() {
        let f = write("id, sku\n1,A-1\n2,\"B,2\"\n");
        let (cols, rows) = read_csv(f.path()).unwrap();
        assert_eq!(cols, vec!["id", "sku"]);
        assert_eq!(rows, vec![vec!["1", "A-1"], vec!["2", "B,2"]]);
    }

    #[test]
    fn refuses_missing_ragged_and_empty_files() {
        assert!(read_csv(Path::new("/nonexistent/x.csv"))
            .unwrap_err()
            .0
            .contains("cannot read"));
        assert!(read_csv(write("id,sku\n1\n").path())
            .unwrap_err()
            .0
            .contains("not valid CSV"));
        assert!(read_csv(write("id,sku\n").path())
            .unwrap_err()
            .0
            .contains("no data rows"));
        assert!(read_csv(write("id,\n1,2\n").path())
            .unwrap_err()
            .0
            .contains("empty column"));
    }
}

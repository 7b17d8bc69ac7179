//! Parquet reader: decodes only the requested root columns (projection), numbers become `f64`
//! (nulls → NaN), text / dictionary / dates become categories; columns decode in parallel.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, Float64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

use super::convert::TextColumn;
use super::csv::resolve_requests;
use super::{ColumnRequest, KindHint, Position, SourceError};
use crate::engine::column::{Column, Table};

const BATCH_ROWS: usize = 64 * 1024;

fn parquet_row(row: usize) -> Position {
    Position::Row(row + 1)
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

fn is_texty(t: &DataType) -> bool {
    match t {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(_, _) => true,
        DataType::Dictionary(_, v) => is_texty(v) || is_numeric(v),
        _ => false,
    }
}

fn pq_err(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The root column names of a Parquet file's schema (footer only).
pub(crate) fn column_names(path: &Path) -> Result<Vec<String>, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
        .map_err(|e| pq_err(path, e))?;
    Ok(metadata
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

/// Reads a Parquet file. See [`read_table`](super::read_table).
///
/// The footer is read once; then every requested column is decoded and converted by its own
/// rayon task (a Parquet column chunk decodes independently of the others), each task with its
/// own file handle (handles cloned from one `File` would share one seek offset).
pub(crate) fn read_parquet(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
) -> Result<Table, SourceError> {
    read_parquet_with(path, requests, false).map(|(t, _)| t)
}

/// An infinite value a lenient read set aside: (0-based row, column, value as text).
pub(crate) type NonFiniteCell = (usize, String, String);

/// [`read_parquet`]; with `lenient`, an infinite value in a numeric column becomes missing and
/// is listed instead of failing the read (by column, then row).
pub(crate) fn read_parquet_with(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
    lenient: bool,
) -> Result<(Table, Vec<NonFiniteCell>), SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
        .map_err(|e| pq_err(path, e))?;
    let schema = metadata.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let wanted = resolve_requests(path, &names, requests)?;
    for (i, req) in &wanted {
        let t = schema.field(*i).data_type();
        if !is_numeric(t) && !is_texty(t) {
            return Err(SourceError::UnsupportedType {
                path: path.to_path_buf(),
                column: req.name.clone(),
                data_type: t.to_string(),
            });
        }
    }
    let rows = metadata.metadata().file_metadata().num_rows().max(0) as usize;

    let columns = wanted
        .par_iter()
        .map(|(i, req)| {
            let file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
            let builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone());
            let mask = ProjectionMask::roots(builder.parquet_schema(), [*i]);
            let reader = builder
                .with_projection(mask)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| pq_err(path, e))?;
            let arrays: Vec<ArrayRef> = reader
                .map(|b| {
                    let b = b.map_err(|e| pq_err(path, e))?;
                    b.column_by_name(&req.name)
                        .cloned()
                        .ok_or_else(|| pq_err(path, format!("column {:?} not decoded", req.name)))
                })
                .collect::<Result<_, _>>()?;
            let decoded: usize = arrays.iter().map(|a| a.len()).sum();
            if decoded != rows {
                return Err(pq_err(
                    path,
                    format!(
                        "column {:?} holds {decoded} values, the footer says {rows} rows",
                        req.name
                    ),
                ));
            }
            convert_column(path, &req.name, req.kind, &arrays, lenient)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut cells = Vec::new();
    let columns = columns
        .into_iter()
        .map(|(c, bad)| {
            cells.extend(bad);
            c
        })
        .collect();
    Ok((
        Table {
            names: wanted.into_iter().map(|(_, r)| r.name).collect(),
            columns,
            rows,
        },
        cells,
    ))
}

fn value_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => v,
        other => other,
    }
}

fn convert_column(
    path: &Path,
    name: &str,
    kind: KindHint,
    arrays: &[ArrayRef],
    lenient: bool,
) -> Result<(Column, Vec<NonFiniteCell>), SourceError> {
    let Some(first) = arrays.first() else {
        return Ok((
            match kind {
                KindHint::Categorical => Column::Categorical(Default::default()),
                _ => Column::Numeric(Vec::new()),
            },
            Vec::new(),
        ));
    };
    let mut bad = Vec::new();
    let numeric_source = is_numeric(value_type(first.data_type()));
    if numeric_source && kind != KindHint::Categorical {
        let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
        for a in arrays {
            let f = cast(a, &DataType::Float64).map_err(|e| pq_err(path, e))?;
            let f = f
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| pq_err(path, format!("column {name:?} did not cast to f64")))?;
            // Copy the values, then write NaN where the validity bitmap says null (64 rows per
            // word), then look for an infinite value: three vectorisable passes instead of a
            // bitmap lookup and a branch per value.
            let start = out.len();
            out.extend_from_slice(f.values());
            let batch = &mut out[start..];
            if let Some(nulls) = f.nulls() {
                for (w, word) in nulls.inner().bit_chunks().iter_padded().enumerate() {
                    let mut missing = !word;
                    while missing != 0 {
                        let row = w * 64 + missing.trailing_zeros() as usize;
                        if let Some(v) = batch.get_mut(row) {
                            *v = f64::NAN;
                        }
                        missing &= missing - 1;
                    }
                }
            }
            if lenient {
                for (row, v) in batch.iter_mut().enumerate() {
                    if v.is_infinite() {
                        bad.push((start + row, name.to_string(), v.to_string()));
                        *v = f64::NAN;
                    }
                }
            } else if let Some(row) = batch.iter().position(|v| v.is_infinite()) {
                return Err(SourceError::NonFinite {
                    path: path.to_path_buf(),
                    at: parquet_row(start + row),
                    column: name.to_string(),
                    value: batch[row].to_string(),
                });
            }
        }
        return Ok((Column::Numeric(out), bad));
    }
    let texts: Vec<ArrayRef> = arrays
        .iter()
        .map(|a| cast(a, &DataType::Utf8).map_err(|e| pq_err(path, e)))
        .collect::<Result<_, _>>()?;
    let batches: Vec<&StringArray> = texts
        .iter()
        .map(|a| {
            a.as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| pq_err(path, format!("column {name:?} did not cast to text")))
        })
        .collect::<Result<_, _>>()?;
    // Text columns are categorical unless numeric was asked for explicitly.
    let kind = if kind == KindHint::Numeric {
        KindHint::Numeric
    } else {
        KindHint::Categorical
    };
    TextColumn {
        path,
        name,
        batches,
        position: parquet_row,
    }
    .convert(kind)
    .map(|c| (c, bad))
}

//! Parquet reader: decodes only the requested root columns (projection), numbers become `f64`
//! (nulls → NaN), text / dictionary / dates become categories.

use std::fs::File;
use std::path::Path;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
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

/// Reads a Parquet file. See [`read_table`](super::read_table).
pub(crate) fn read_parquet(
    path: &Path,
    requests: Option<&[ColumnRequest]>,
) -> Result<Table, SourceError> {
    let file = File::open(path).map_err(|e| SourceError::io(path, &e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| pq_err(path, e))?;
    let schema = builder.schema().clone();
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
    let rows_total = builder.metadata().file_metadata().num_rows().max(0) as usize;
    let roots: Vec<usize> = wanted.iter().map(|(i, _)| *i).collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| pq_err(path, e))?;
    let batches: Vec<RecordBatch> = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pq_err(path, e))?;
    let rows = if wanted.is_empty() {
        rows_total
    } else {
        batches.iter().map(|b| b.num_rows()).sum()
    };

    let columns = wanted
        .par_iter()
        .map(|(_, req)| {
            let arrays: Vec<ArrayRef> = batches
                .iter()
                .map(|b| {
                    b.column_by_name(&req.name)
                        .cloned()
                        .ok_or_else(|| pq_err(path, format!("column {:?} not decoded", req.name)))
                })
                .collect::<Result<_, _>>()?;
            convert_column(path, &req.name, req.kind, &arrays)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table {
        names: wanted.into_iter().map(|(_, r)| r.name).collect(),
        columns,
        rows,
    })
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
) -> Result<Column, SourceError> {
    let Some(first) = arrays.first() else {
        return Ok(match kind {
            KindHint::Categorical => Column::Categorical(Default::default()),
            _ => Column::Numeric(Vec::new()),
        });
    };
    let numeric_source = is_numeric(value_type(first.data_type()));
    if numeric_source && kind != KindHint::Categorical {
        let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
        for a in arrays {
            let f = cast(a, &DataType::Float64).map_err(|e| pq_err(path, e))?;
            let f = f
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| pq_err(path, format!("column {name:?} did not cast to f64")))?;
            for i in 0..f.len() {
                let v = if f.is_null(i) { f64::NAN } else { f.value(i) };
                if v.is_infinite() {
                    return Err(SourceError::NonFinite {
                        path: path.to_path_buf(),
                        at: parquet_row(out.len()),
                        column: name.to_string(),
                        value: v.to_string(),
                    });
                }
                out.push(v);
            }
        }
        return Ok(Column::Numeric(out));
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
}

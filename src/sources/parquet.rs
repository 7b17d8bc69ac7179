//! Parquet reader: decodes only the requested root columns (projection), numbers become `f64`
//! (nulls → NaN), text / dictionary / dates become categories; columns decode in parallel.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Float64Array, StringArray};
use arrow::buffer::NullBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

use super::convert::{TextColumn, is_missing_text};
use super::csv::resolve_requests;
use super::{ColumnRequest, KindHint, Position, SourceError};
use crate::engine::column::{CategoricalColumn, Column, MISSING_CODE, Table};

/// Rows per decoded batch: a column of up to this many rows decodes as one array whose buffer
/// becomes the column without a copy; longer columns are decoded in batches and concatenated.
const BATCH_ROWS: usize = 4 * 1024 * 1024;

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
    let metadata = with_dictionary_text(path, metadata, &wanted)?;
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
                .with_batch_size(rows.clamp(1, BATCH_ROWS))
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
            convert_column(path, &req.name, req.kind, arrays, lenient)
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
    mut arrays: Vec<ArrayRef>,
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
        // One f64 array (the common case): its buffer becomes the column, no copy.
        if arrays.len() == 1
            && first.data_type() == &DataType::Float64
            && let Some(only) = arrays.pop()
        {
            let array = only.as_primitive::<Float64Type>().clone();
            drop(only);
            let (_, values, nulls) = array.into_parts();
            let mut out = match values.into_inner().into_vec::<f64>() {
                Ok(v) => v,
                Err(shared) => shared.typed_data::<f64>().to_vec(),
            };
            finish_numeric(
                path,
                name,
                &mut out,
                0,
                nulls.as_ref(),
                lenient.then_some(&mut bad),
            )?;
            return Ok((Column::Numeric(out), bad));
        }
        let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
        for a in &arrays {
            let f = cast(a, &DataType::Float64).map_err(|e| pq_err(path, e))?;
            let f = f
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| pq_err(path, format!("column {name:?} did not cast to f64")))?;
            let start = out.len();
            out.extend_from_slice(f.values());
            finish_numeric(
                path,
                name,
                &mut out[start..],
                start,
                f.nulls(),
                lenient.then_some(&mut bad),
            )?;
        }
        return Ok((Column::Numeric(out), bad));
    }
    if kind != KindHint::Numeric
        && let Some(column) = dictionary_categorical(&arrays)
    {
        return Ok((Column::Categorical(column), bad));
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

/// Writes NaN where the validity bitmap says null (64 rows per word), then looks for an infinite
/// value: vectorisable passes instead of a bitmap lookup and a branch per value. `start` is the
/// row of `batch[0]` in the file, for the error's position. With `bad` (a lenient read), each
/// infinite value is listed there and becomes missing instead of failing the read.
fn finish_numeric(
    path: &Path,
    name: &str,
    batch: &mut [f64],
    start: usize,
    nulls: Option<&NullBuffer>,
    bad: Option<&mut Vec<NonFiniteCell>>,
) -> Result<(), SourceError> {
    if let Some(nulls) = nulls {
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
    if let Some(bad) = bad {
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
    Ok(())
}

/// Asks the decoder for the requested text columns (`Utf8`, `LargeUtf8` as pandas writes them,
/// `Utf8View`) as `Dictionary(Int32, Utf8)`: a
/// dictionary-encoded Parquet column chunk then stays encoded (each distinct text decoded once)
/// instead of materialising one string per row; see [`dictionary_categorical`].
fn with_dictionary_text(
    path: &Path,
    metadata: ArrowReaderMetadata,
    wanted: &[(usize, ColumnRequest)],
) -> Result<ArrowReaderMetadata, SourceError> {
    let schema = metadata.schema();
    let text = |i: usize| {
        wanted
            .iter()
            .any(|(w, r)| *w == i && r.kind != KindHint::Numeric)
            && matches!(
                schema.field(i).data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
    };
    if !(0..schema.fields().len()).any(text) {
        return Ok(metadata);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if text(i) {
                let t = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
                f.with_data_type(t)
            } else {
                f
            }
        })
        .collect();
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hinted),
    )
    .map_err(|e| pq_err(path, e))
}

/// A categorical column straight from `Dictionary(Int32, Utf8)` batches: each referenced
/// dictionary text is classified once (missing spellings → [`MISSING_CODE`]) and rows map through
/// a per-batch key table; levels in order of first appearance, exactly as
/// [`categorical_from`](super::convert::categorical_from) builds them from the texts.
///
/// `None` when a batch is not such a dictionary or a key is out of range (the caller then takes
/// the text path). Like every Parquet text column not requested as numeric, the column is
/// categorical even when its texts are numbers.
fn dictionary_categorical(arrays: &[ArrayRef]) -> Option<CategoricalColumn> {
    let mut out = CategoricalColumn {
        levels: Vec::new(),
        codes: Vec::with_capacity(arrays.iter().map(|a| a.len()).sum()),
    };
    let mut index: HashMap<String, u32> = HashMap::new();
    for a in arrays {
        let d = a.as_any().downcast_ref::<DictionaryArray<Int32Type>>()?;
        let values = d.values().as_any().downcast_ref::<StringArray>()?;
        let mut table: Vec<Option<u32>> = vec![None; values.len()];
        let keys = d.keys();
        for (i, key) in keys.values().iter().enumerate() {
            if keys.is_null(i) {
                out.codes.push(MISSING_CODE);
                continue;
            }
            let k = usize::try_from(*key).ok()?;
            let code = match *table.get(k)? {
                Some(c) => c,
                None => {
                    let c = if values.is_null(k) {
                        MISSING_CODE
                    } else {
                        let text = values.value(k);
                        if is_missing_text(text) {
                            MISSING_CODE
                        } else if let Some(&c) = index.get(text) {
                            c
                        } else {
                            let c = out.levels.len() as u32;
                            out.levels.push(text.to_owned());
                            index.insert(text.to_owned(), c);
                            c
                        }
                    };
                    table[k] = Some(c);
                    c
                }
            };
            out.codes.push(code);
        }
    }
    Some(out)
}

//! Decoding of Snowflake results (Arrow record batches or JSON rowsets) into typed rows.
//!
//! Snowflake's Arrow layout, as produced by the service (and by fakesnow):
//! - `NUMBER(p, s)`: an integer array (`Int8`..`Int64`) or `Decimal128`, with the scale in the field
//!   metadata (`"scale"`); the value is `raw / 10^scale`;
//! - `FLOAT`: `Float64`; `VARCHAR`: `Utf8`; `BOOLEAN`: `Boolean`; `DATE`: `Date32` (days since 1970);
//! - `TIMESTAMP_NTZ/LTZ`: either an `Int64` of units of `10^-scale` seconds since the epoch, or a
//!   `Struct { epoch: Int64 seconds, fraction: Int32 nanoseconds }`.
//!
//! JSON rowsets carry every value as text (or `null`): NUMBER as decimal text, DATE as days since
//! the epoch, TIMESTAMP as `seconds.fraction`.

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray, StringArray, StructArray,
};
use arrow::datatypes::{DataType, Field};
use chrono::{DateTime, NaiveDate, Utc};
use snowflake_api::QueryResult;

use super::SnowflakeError;

/// One decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// VARCHAR (and VARIANT/OBJECT/ARRAY as JSON text).
    Text(String),
    /// NUMBER with scale 0.
    Int(i64),
    /// FLOAT, or NUMBER with a scale (converted to f64).
    Float(f64),
    /// BOOLEAN.
    Bool(bool),
    /// DATE.
    Date(NaiveDate),
    /// TIMESTAMP (UTC).
    Timestamp(DateTime<Utc>),
}

/// Rows of a result, with column names as the server returned them (Snowflake upper-cases
/// unquoted aliases).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Cells, row by row, in column order.
    pub rows: Vec<Vec<Value>>,
}

/// Decodes a query result. `kind` names the statement in errors; at most `limit` rows are kept
/// (more is an error: results are bounded on purpose).
///
/// # Errors
/// [`SnowflakeError::Decode`] for unsupported types, malformed values or too many rows.
pub fn rows(kind: &'static str, result: QueryResult, limit: usize) -> Result<Rows, SnowflakeError> {
    match result {
        QueryResult::Empty => Ok(Rows::default()),
        QueryResult::Arrow(batches) => {
            let mut out = Rows::default();
            for batch in batches {
                if out.columns.is_empty() {
                    out.columns = batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                }
                if out.rows.len() + batch.num_rows() > limit {
                    return Err(too_many(kind, limit));
                }
                let schema = batch.schema();
                let cols: Vec<Vec<Value>> = batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(a, f)| arrow_column(kind, f, a))
                    .collect::<Result<_, _>>()?;
                for r in 0..batch.num_rows() {
                    out.rows.push(cols.iter().map(|c| c[r].clone()).collect());
                }
            }
            Ok(out)
        }
        QueryResult::Json(json) => {
            let columns: Vec<String> = json.schema.iter().map(|f| f.name.clone()).collect();
            let types: Vec<(String, i64)> = json
                .schema
                .iter()
                .map(|f| (format!("{:?}", f.type_), f.scale.unwrap_or(0)))
                .collect();
            let arr = json
                .value
                .as_array()
                .ok_or_else(|| decode(kind, "JSON rowset is not an array"))?;
            if arr.len() > limit {
                return Err(too_many(kind, limit));
            }
            let mut out = Rows {
                columns,
                rows: Vec::with_capacity(arr.len()),
            };
            for row in arr {
                let cells = row
                    .as_array()
                    .ok_or_else(|| decode(kind, "JSON row is not an array"))?;
                let mut values = Vec::with_capacity(cells.len());
                for (i, cell) in cells.iter().enumerate() {
                    let (ty, scale) = types
                        .get(i)
                        .map(|(t, s)| (t.as_str(), *s))
                        .unwrap_or(("Text", 0));
                    values.push(json_cell(kind, ty, scale, cell)?);
                }
                out.rows.push(values);
            }
            Ok(out)
        }
    }
}

/// Decodes one Arrow batch of a result column by column (names as the server returned them),
/// for readers that walk a large result batch by batch instead of holding every row decoded.
///
/// # Errors
/// [`SnowflakeError::Decode`] for unsupported types or malformed values.
pub fn batch_columns(
    kind: &'static str,
    batch: &arrow::record_batch::RecordBatch,
) -> Result<(Vec<String>, Vec<Vec<Value>>), SnowflakeError> {
    let schema = batch.schema();
    let names = schema.fields().iter().map(|f| f.name().clone()).collect();
    let cols = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(a, f)| arrow_column(kind, f, a))
        .collect::<Result<_, _>>()?;
    Ok((names, cols))
}

fn decode(kind: &'static str, message: impl Into<String>) -> SnowflakeError {
    SnowflakeError::Decode {
        kind,
        message: message.into(),
    }
}

fn too_many(kind: &'static str, limit: usize) -> SnowflakeError {
    decode(kind, format!("more than {limit} rows returned"))
}

fn pow10(scale: i64) -> f64 {
    10f64.powi(i32::try_from(scale).unwrap_or(0))
}

fn field_scale(field: &Field) -> i64 {
    field
        .metadata()
        .get("scale")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn is_timestamp(field: &Field) -> bool {
    field
        .metadata()
        .get("logicalType")
        .is_some_and(|t| t.starts_with("TIMESTAMP"))
}

fn ts_from_units(units: i64, scale: i64) -> Option<DateTime<Utc>> {
    let scale = u32::try_from(scale.clamp(0, 9)).ok()?;
    let div = 10i64.pow(scale);
    let secs = units.div_euclid(div);
    let frac = units.rem_euclid(div);
    let nanos = u32::try_from(frac * 10i64.pow(9 - scale)).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

macro_rules! ints {
    ($arr:expr, $ty:ty, $field:expr, $kind:expr) => {{
        let a = $arr
            .as_any()
            .downcast_ref::<$ty>()
            .ok_or_else(|| decode($kind, "array type mismatch"))?;
        let scale = field_scale($field);
        let ts = is_timestamp($field);
        (0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    return Ok(Value::Null);
                }
                let v = i64::from(a.value(i));
                if ts {
                    ts_from_units(v, scale)
                        .map(Value::Timestamp)
                        .ok_or_else(|| {
                            decode(
                                $kind,
                                format!("{}: timestamp {v} out of range", $field.name()),
                            )
                        })
                } else if scale == 0 {
                    Ok(Value::Int(v))
                } else {
                    Ok(Value::Float(v as f64 / pow10(scale)))
                }
            })
            .collect()
    }};
}

/// Downcasts `array` to `A` and maps each row with `value`; null rows become [`Value::Null`].
fn map_rows<A: 'static>(
    array: &ArrayRef,
    mismatch: impl FnOnce() -> SnowflakeError,
    value: impl Fn(&A, usize) -> Value,
) -> Result<Vec<Value>, SnowflakeError> {
    let a = array.as_any().downcast_ref::<A>().ok_or_else(mismatch)?;
    Ok((0..array.len())
        .map(|i| {
            if array.is_null(i) {
                Value::Null
            } else {
                value(a, i)
            }
        })
        .collect())
}

fn arrow_column(
    kind: &'static str,
    field: &Field,
    array: &ArrayRef,
) -> Result<Vec<Value>, SnowflakeError> {
    let n = array.len();
    let nulls = |i: usize| array.is_null(i);
    let mismatch = || decode(kind, format!("{}: array type mismatch", field.name()));
    match array.data_type() {
        DataType::Null => Ok(vec![Value::Null; n]),
        DataType::Utf8 => {
            map_rows::<StringArray>(array, mismatch, |a, i| Value::Text(a.value(i).to_owned()))
        }
        DataType::LargeUtf8 => {
            map_rows::<LargeStringArray>(array, mismatch, |a, i| Value::Text(a.value(i).to_owned()))
        }
        DataType::Boolean => {
            map_rows::<BooleanArray>(array, mismatch, |a, i| Value::Bool(a.value(i)))
        }
        DataType::Float64 => {
            map_rows::<Float64Array>(array, mismatch, |a, i| Value::Float(a.value(i)))
        }
        DataType::Float32 => {
            map_rows::<Float32Array>(array, mismatch, |a, i| Value::Float(f64::from(a.value(i))))
        }
        DataType::Int8 => ints!(array, Int8Array, field, kind),
        DataType::Int16 => ints!(array, Int16Array, field, kind),
        DataType::Int32 => ints!(array, Int32Array, field, kind),
        DataType::Int64 => ints!(array, Int64Array, field, kind),
        DataType::Decimal128(_, s) => {
            let a = array
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .ok_or_else(mismatch)?;
            let scale = i64::from(*s);
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        return Ok(Value::Null);
                    }
                    let v = a.value(i);
                    if scale == 0 {
                        i64::try_from(v).map(Value::Int).map_err(|_| {
                            decode(kind, format!("{}: {v} does not fit 64 bits", field.name()))
                        })
                    } else {
                        Ok(Value::Float(v as f64 / pow10(scale)))
                    }
                })
                .collect()
        }
        DataType::Date32 => {
            let a = array
                .as_any()
                .downcast_ref::<Date32Array>()
                .ok_or_else(mismatch)?;
            (0..n)
                .map(|i| {
                    if nulls(i) {
                        return Ok(Value::Null);
                    }
                    let days = a.value(i);
                    NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
                        .map(Value::Date)
                        .ok_or_else(|| {
                            decode(kind, format!("{}: date {days} out of range", field.name()))
                        })
                })
                .collect()
        }
        DataType::Struct(_) => {
            let a = array
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(mismatch)?;
            let epoch = a
                .column_by_name("epoch")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .ok_or_else(|| {
                    decode(
                        kind,
                        format!("{}: struct without Int64 epoch", field.name()),
                    )
                })?;
            let fraction = a.column_by_name("fraction");
            (0..n)
                .map(|i| {
                    if nulls(i) || epoch.is_null(i) {
                        return Ok(Value::Null);
                    }
                    let nanos = match fraction {
                        Some(f) => match f.data_type() {
                            DataType::Int32 => f
                                .as_any()
                                .downcast_ref::<Int32Array>()
                                .map_or(0, |f| i64::from(f.value(i))),
                            DataType::Int64 => f
                                .as_any()
                                .downcast_ref::<Int64Array>()
                                .map_or(0, |f| f.value(i)),
                            _ => 0,
                        },
                        None => 0,
                    };
                    u32::try_from(nanos)
                        .ok()
                        .and_then(|ns| DateTime::from_timestamp(epoch.value(i), ns))
                        .map(Value::Timestamp)
                        .ok_or_else(|| {
                            decode(kind, format!("{}: timestamp out of range", field.name()))
                        })
                })
                .collect()
        }
        other => Err(decode(
            kind,
            format!("{}: unsupported Arrow type {other}", field.name()),
        )),
    }
}

fn json_cell(
    kind: &'static str,
    ty: &str,
    scale: i64,
    cell: &serde_json::Value,
) -> Result<Value, SnowflakeError> {
    let text = match cell {
        serde_json::Value::Null => return Ok(Value::Null),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let bad = |what: &str| decode(kind, format!("{what} {text:?} in a {ty} column"));
    match ty {
        "Fixed" if scale == 0 => text.parse().map(Value::Int).map_err(|_| bad("integer")),
        "Fixed" | "Real" => match text.as_str() {
            "NaN" => Ok(Value::Float(f64::NAN)),
            "inf" | "Infinity" => Ok(Value::Float(f64::INFINITY)),
            "-inf" | "-Infinity" => Ok(Value::Float(f64::NEG_INFINITY)),
            t => t.parse().map(Value::Float).map_err(|_| bad("number")),
        },
        "Boolean" => match text.as_str() {
            "1" | "true" | "TRUE" => Ok(Value::Bool(true)),
            "0" | "false" | "FALSE" => Ok(Value::Bool(false)),
            _ => Err(bad("boolean")),
        },
        "Date" => {
            if let Ok(days) = text.parse::<i32>() {
                NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
                    .map(Value::Date)
                    .ok_or_else(|| bad("date"))
            } else {
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map(Value::Date)
                    .map_err(|_| bad("date"))
            }
        }
        "TimestampNtz" | "TimestampLtz" | "TimestampTz" => {
            // `seconds.fraction` (TZ variants append ` offset`, which UTC storage ignores).
            let t = text.split(' ').next().unwrap_or("");
            let (secs, frac) = t.split_once('.').unwrap_or((t, ""));
            let secs: i64 = secs.parse().map_err(|_| bad("timestamp"))?;
            let mut nanos: u32 = 0;
            if !frac.is_empty() {
                let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                nanos = digits.parse().map_err(|_| bad("timestamp"))?;
            }
            let secs_neg = secs < 0 || t.starts_with('-');
            let ts = if secs_neg && nanos > 0 {
                DateTime::from_timestamp(secs - 1, 1_000_000_000 - nanos)
            } else {
                DateTime::from_timestamp(secs, nanos)
            };
            ts.map(Value::Timestamp).ok_or_else(|| bad("timestamp"))
        }
        _ => Ok(Value::Text(text)),
    }
}

/// Typed access to one decoded row, naming the column in errors.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    kind: &'static str,
    columns: &'a [String],
    cells: &'a [Value],
}

impl Rows {
    /// Iterates rows with typed accessors.
    pub fn iter(&self, kind: &'static str) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().map(move |cells| RowRef {
            kind,
            columns: &self.columns,
            cells,
        })
    }
}

impl RowRef<'_> {
    fn cell(&self, i: usize) -> Result<&Value, SnowflakeError> {
        self.cells
            .get(i)
            .ok_or_else(|| decode(self.kind, format!("row has no column {i}")))
    }

    fn wrong(&self, i: usize, want: &str, got: &Value) -> SnowflakeError {
        let name = self.columns.get(i).map_or("?", String::as_str);
        decode(
            self.kind,
            format!("column {name}: expected {want}, found {got:?}"),
        )
    }

    /// Optional text.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, SnowflakeError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            other => Err(self.wrong(i, "text", other)),
        }
    }
    /// Text (NULL is an error).
    pub fn text(&self, i: usize) -> Result<String, SnowflakeError> {
        self.opt_text(i)?
            .ok_or_else(|| self.wrong(i, "text", &Value::Null))
    }
    /// Optional number as f64 (integers converted).
    pub fn opt_f64(&self, i: usize) -> Result<Option<f64>, SnowflakeError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Float(v) => Ok(Some(*v)),
            Value::Int(v) => Ok(Some(*v as f64)),
            other => Err(self.wrong(i, "number", other)),
        }
    }
    /// Number as f64 (NULL is an error).
    pub fn f64(&self, i: usize) -> Result<f64, SnowflakeError> {
        self.opt_f64(i)?
            .ok_or_else(|| self.wrong(i, "number", &Value::Null))
    }
    /// Optional integer (a float with no fractional part is accepted).
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, SnowflakeError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::Float(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(Some(*v as i64)),
            other => Err(self.wrong(i, "integer", other)),
        }
    }
    /// Integer (NULL is an error).
    pub fn i64(&self, i: usize) -> Result<i64, SnowflakeError> {
        self.opt_i64(i)?
            .ok_or_else(|| self.wrong(i, "integer", &Value::Null))
    }
    /// Date (NULL is an error).
    pub fn date(&self, i: usize) -> Result<NaiveDate, SnowflakeError> {
        match self.cell(i)? {
            Value::Date(d) => Ok(*d),
            other => Err(self.wrong(i, "date", other)),
        }
    }
    /// Optional timestamp.
    pub fn opt_timestamp(&self, i: usize) -> Result<Option<DateTime<Utc>>, SnowflakeError> {
        match self.cell(i)? {
            Value::Null => Ok(None),
            Value::Timestamp(t) => Ok(Some(*t)),
            other => Err(self.wrong(i, "timestamp", other)),
        }
    }
    /// Timestamp (NULL is an error).
    pub fn timestamp(&self, i: usize) -> Result<DateTime<Utc>, SnowflakeError> {
        self.opt_timestamp(i)?
            .ok_or_else(|| self.wrong(i, "timestamp", &Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::RecordBatch;
    use arrow::datatypes::{Fields, Schema};
    use std::collections::HashMap;
    use std::sync::Arc;

    fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn arrow_scaled_numbers_timestamps_structs_and_nulls() {
        let ts_fields = Fields::from(vec![
            Field::new("epoch", DataType::Int64, true),
            Field::new("fraction", DataType::Int32, true),
        ]);
        let ts_struct = StructArray::new(
            ts_fields.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1_359_698_400), Some(0)])) as ArrayRef,
                Arc::new(Int32Array::from(vec![Some(123_456_789), Some(0)])) as ArrayRef,
            ],
            Some(vec![true, false].into()),
        );
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, true).with_metadata(meta(&[("scale", "2")])),
            Field::new("i", DataType::Int32, true).with_metadata(meta(&[("scale", "0")])),
            Field::new("t", DataType::Struct(ts_fields), true),
            Field::new("u", DataType::Int64, true)
                .with_metadata(meta(&[("scale", "3"), ("logicalType", "TIMESTAMP_NTZ")])),
            Field::new("d", DataType::Date32, true),
            Field::new("s", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(-12345), None])),
                Arc::new(Int32Array::from(vec![Some(7), None])),
                Arc::new(ts_struct),
                Arc::new(Int64Array::from(vec![Some(-1500), None])),
                Arc::new(Date32Array::from(vec![Some(15737), None])),
                Arc::new(StringArray::from(vec![Some("x'y"), None])),
            ],
        )
        .unwrap();
        let out = rows("SELECT test", QueryResult::Arrow(vec![batch]), 10).unwrap();
        assert_eq!(out.columns, ["n", "i", "t", "u", "d", "s"]);
        let r = &out.rows[0];
        assert_eq!(r[0], Value::Float(-123.45));
        assert_eq!(r[1], Value::Int(7));
        let t = DateTime::from_timestamp(1_359_698_400, 123_456_789).unwrap();
        assert_eq!(r[2], Value::Timestamp(t));
        let u = DateTime::from_timestamp(-2, 500_000_000).unwrap();
        assert_eq!(r[3], Value::Timestamp(u));
        assert_eq!(
            r[4],
            Value::Date(NaiveDate::from_ymd_opt(2013, 2, 1).unwrap())
        );
        assert_eq!(r[5], Value::Text("x'y".into()));
        assert!(out.rows[1].iter().all(|v| *v == Value::Null));
        let err = rows("SELECT test", QueryResult::Arrow(vec![]), 0);
        assert!(err.is_ok());
    }

    #[test]
    fn row_limit_is_enforced() {
        let schema = Schema::new(vec![Field::new("s", DataType::Utf8, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(vec!["a", "b", "c"]))],
        )
        .unwrap();
        let err = rows("SELECT runs", QueryResult::Arrow(vec![batch]), 2).unwrap_err();
        assert!(err.to_string().contains("SELECT runs"), "{err}");
        assert!(err.to_string().contains("more than 2 rows"), "{err}");
    }

    #[test]
    fn json_cells_by_type() {
        let c = |ty, scale, v: serde_json::Value| json_cell("q", ty, scale, &v).unwrap();
        assert_eq!(c("Fixed", 0, "42".into()), Value::Int(42));
        assert_eq!(c("Fixed", 2, "1.25".into()), Value::Float(1.25));
        assert!(matches!(c("Real", 0, "NaN".into()), Value::Float(v) if v.is_nan()));
        assert_eq!(
            c("Date", 0, "15737".into()),
            Value::Date(NaiveDate::from_ymd_opt(2013, 2, 1).unwrap())
        );
        assert_eq!(
            c("TimestampNtz", 9, "1359698400.123456789".into()),
            Value::Timestamp(DateTime::from_timestamp(1_359_698_400, 123_456_789).unwrap())
        );
        assert_eq!(
            c("TimestampNtz", 9, "-1.5".into()),
            Value::Timestamp(DateTime::from_timestamp(-2, 500_000_000).unwrap())
        );
        assert_eq!(c("Text", 0, serde_json::Value::Null), Value::Null);
        assert!(
            json_cell("MERGE x", "Fixed", 0, &"abc".into())
                .unwrap_err()
                .to_string()
                .contains("MERGE x")
        );
    }
}

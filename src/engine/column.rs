//! Columns as the engine consumes them: plain `f64` slices for numeric characteristics and
//! dictionary codes for categorical ones. Sources (CSV, Parquet, Snowflake) produce these.

/// Code of a missing value in [`CategoricalColumn::codes`].
pub const MISSING_CODE: u32 = u32::MAX;

/// A dictionary-encoded text column: `codes[i]` indexes `levels`, [`MISSING_CODE`] marks missing.
///
/// Levels are the distinct non-missing texts in order of first appearance (not sorted);
/// the engine sorts benchmark levels itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoricalColumn {
    /// Distinct non-missing values.
    pub levels: Vec<String>,
    /// One code per row.
    pub codes: Vec<u32>,
}

impl CategoricalColumn {
    /// Builds a column from optional texts (`None` = missing), assigning codes by first appearance.
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut out = CategoricalColumn::default();
        for v in values {
            let code = match v {
                None => MISSING_CODE,
                Some(text) => match index.get(text) {
                    Some(&c) => c,
                    None => {
                        let c = out.levels.len() as u32;
                        index.insert(text.to_string(), c);
                        out.levels.push(text.to_string());
                        c
                    }
                },
            };
            out.codes.push(code);
        }
        out
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// One column of a population.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numeric values; `NaN` is missing. Infinite values are rejected by sources.
    Numeric(Vec<f64>),
    /// Dictionary-encoded text.
    Categorical(CategoricalColumn),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical(c) => c.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A population: named columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names, in file order (or request order).
    pub names: Vec<String>,
    /// Columns, parallel to `names`.
    pub columns: Vec<Column>,
    /// Row count (every column has this length).
    pub rows: usize,
}

impl Table {
    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }
}

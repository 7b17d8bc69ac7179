//! Compact encoding of a result's characteristics (schema version 3): what belongs to the
//! benchmark is stored once per benchmark profile version, what belongs to the day is a small
//! binary value per result. Backend-neutral: the SQLite store uses it, and a Snowflake store
//! mirrors the same logical tables (`BINARY` for the payload, `VARIANT`/`TEXT` for the JSON).
//!
//! # Logical tables
//! - `PCI_CSI_PROFILES (profile_id, model_id, profile_sha, columns_json)`, unique
//!   `(model_id, profile_sha)`: one row per model and benchmark profile version. `columns_json`
//!   is a JSON array of [`ProfileColumn`] (name, role, kind, bin labels, expected counts,
//!   expected shares) in the order the result listed them; `profile_sha` is the SHA-256 (hex)
//!   of that text, so identical benchmark sides share one row whatever day uses them.
//! - `PCI_CSI_DAILY_BINS (model_id, calculation_date, profile_id, worst_characteristic,
//!   worst_csi, actual)`, key `(model_id, calculation_date)`, a child of `PCI_CSI_RESULTS`:
//!   the profile used, the characteristic with the largest CSI (for the overview, without
//!   decoding) and `actual`, the day's payload below.
//! - `PCI_CSI_RESULTS` keeps exactly the seed job's columns and key.
//!
//! # Payload (`actual`), format 1
//! Byte 0 is the format (1). Then, per profile column in order: a mode byte, the column's index
//! (PSI/CSI) as `f64` little-endian, the actual count of each bin as LEB128 varints, and
//! - mode 0 (derived): when a bin count is 0, the ε used for it (`f64` LE). Actual shares and
//!   contributions are recomputed with the engine's formulas (A = count / Σ counts, ε for 0;
//!   (A − E) · ln(A / E)); the writer checks that the recomputation gives the same bits.
//! - mode 1 (explicit): for each bin, the actual share and the contribution (`f64` LE each);
//!   used whenever recomputation would not reproduce a value bit for bit.
//!
//! Nothing is rounded: every value read back equals the value written.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{CharacteristicRecord, ColumnRole};
use crate::domain::BinStat;

/// Payload format written by this binary.
pub const PAYLOAD_FORMAT: u8 = 1;

/// The benchmark side of one column: the same for every day that uses one profile version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileColumn {
    /// Column name.
    pub name: String,
    /// Score or characteristic.
    pub role: ColumnRole,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// Bin labels, in bin order.
    pub labels: Vec<String>,
    /// Benchmark (expected) rows per bin.
    pub expected_counts: Vec<u64>,
    /// Benchmark shares E_i per bin (ε for an empty bin).
    pub expected_shares: Vec<f64>,
}

/// A result's characteristics split into the profile (JSON text and its SHA-256) and the
/// day's payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// `columns_json` of `PCI_CSI_PROFILES`.
    pub profile_json: String,
    /// Hex SHA-256 of `profile_json`.
    pub profile_sha: String,
    /// The day's payload.
    pub payload: Vec<u8>,
    /// Characteristic (role `characteristic`) with the largest CSI, ties to the smallest name.
    pub worst: Option<(String, f64)>,
}

fn share(count: u64, total: u64, eps: f64) -> f64 {
    // Same formula as `engine::psi::share`; the writer verifies the bits, so a divergence only
    // costs space (explicit mode), never a value.
    if count == 0 {
        eps
    } else {
        count as f64 / total as f64
    }
}

fn contribution(expected_share: f64, actual_share: f64) -> f64 {
    (actual_share - expected_share) * (actual_share / expected_share).ln()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Derived actual shares and contributions, when they reproduce `bins` bit for bit; the ε to
/// store (if any bin is empty) inside.
fn derivable(bins: &[BinStat]) -> Option<Option<f64>> {
    let total = bins
        .iter()
        .try_fold(0u64, |acc, b| acc.checked_add(b.actual_count))?;
    let mut eps: Option<f64> = None;
    for b in bins {
        if b.actual_count == 0 {
            match eps {
                None => eps = Some(b.actual_share),
                Some(e) if e.to_bits() == b.actual_share.to_bits() => {}
                Some(_) => return None,
            }
        }
    }
    let e = eps.unwrap_or(0.0);
    for b in bins {
        let a = share(b.actual_count, total, e);
        if a.to_bits() != b.actual_share.to_bits()
            || contribution(b.expected_share, a).to_bits() != b.contribution.to_bits()
        {
            return None;
        }
    }
    Some(eps)
}

/// Splits characteristics into profile and payload.
///
/// # Errors
/// A message when the profile cannot be serialised (never for finite values).
pub fn split(characteristics: &[CharacteristicRecord]) -> Result<Split, String> {
    let columns: Vec<ProfileColumn> = characteristics
        .iter()
        .map(|c| ProfileColumn {
            name: c.characteristic.clone(),
            role: c.role,
            kind: c.kind.clone(),
            labels: c.bins.iter().map(|b| b.label.clone()).collect(),
            expected_counts: c.bins.iter().map(|b| b.expected_count).collect(),
            expected_shares: c.bins.iter().map(|b| b.expected_share).collect(),
        })
        .collect();
    let profile_json = serde_json::to_string(&columns).map_err(|e| e.to_string())?;
    let profile_sha = format!("{:x}", Sha256::digest(profile_json.as_bytes()));
    let mut payload = Vec::with_capacity(1 + characteristics.len() * 48);
    payload.push(PAYLOAD_FORMAT);
    for c in characteristics {
        let derived = derivable(&c.bins);
        payload.push(u8::from(derived.is_none()));
        payload.extend_from_slice(&c.index_value.to_le_bytes());
        for b in &c.bins {
            put_varint(&mut payload, b.actual_count);
        }
        match derived {
            Some(Some(eps)) => payload.extend_from_slice(&eps.to_le_bytes()),
            Some(None) => {}
            None => {
                for b in &c.bins {
                    payload.extend_from_slice(&b.actual_share.to_le_bytes());
                    payload.extend_from_slice(&b.contribution.to_le_bytes());
                }
            }
        }
    }
    let worst = characteristics
        .iter()
        .filter(|c| c.role == ColumnRole::Characteristic)
        .min_by(|a, b| {
            b.index_value
                .total_cmp(&a.index_value)
                .then_with(|| a.characteristic.cmp(&b.characteristic))
        })
        .map(|c| (c.characteristic.clone(), c.index_value));
    Ok(Split {
        profile_json,
        profile_sha,
        payload,
        worst,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| format!("payload ends at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn f64(&mut self) -> Result<f64, String> {
        let end = self.pos + 8;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| format!("payload ends inside a number at byte {}", self.pos))?;
        self.pos = end;
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        Ok(f64::from_le_bytes(a))
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("count longer than 64 bits at byte {}", self.pos))
    }
}

/// Joins a profile (`columns_json`) and a payload back into characteristic records, in
/// profile order.
///
/// # Errors
/// A message naming what is malformed (bad JSON, unknown format, truncated payload, trailing
/// bytes); the caller reports it as a corrupt value.
pub fn join(
    model_id: &str,
    calculation_date: NaiveDate,
    profile_json: &str,
    payload: &[u8],
) -> Result<Vec<CharacteristicRecord>, String> {
    let columns: Vec<ProfileColumn> =
        serde_json::from_str(profile_json).map_err(|e| format!("profile JSON: {e}"))?;
    let mut r = Reader {
        bytes: payload,
        pos: 0,
    };
    let format = r.byte()?;
    if format != PAYLOAD_FORMAT {
        return Err(format!("unknown payload format {format}"));
    }
    let mut out = Vec::with_capacity(columns.len());
    for col in columns {
        let n = col.labels.len();
        if col.expected_counts.len() != n || col.expected_shares.len() != n {
            return Err(format!("profile column {} has ragged bins", col.name));
        }
        let mode = r.byte()?;
        let index_value = r.f64()?;
        let counts = (0..n).map(|_| r.varint()).collect::<Result<Vec<_>, _>>()?;
        let (shares, contributions): (Vec<f64>, Vec<f64>) = match mode {
            0 => {
                let eps = if counts.contains(&0) { r.f64()? } else { 0.0 };
                let total = counts
                    .iter()
                    .try_fold(0u64, |a, &c| a.checked_add(c))
                    .ok_or("counts overflow")?;
                counts
                    .iter()
                    .zip(&col.expected_shares)
                    .map(|(&c, &e)| {
                        let a = share(c, total, eps);
                        (a, contribution(e, a))
                    })
                    .unzip()
            }
            1 => {
                let mut s = Vec::with_capacity(n);
                let mut c = Vec::with_capacity(n);
                for _ in 0..n {
                    s.push(r.f64()?);
                    c.push(r.f64()?);
                }
                (s, c)
            }
            other => return Err(format!("unknown column mode {other} for {}", col.name)),
        };
        let bins = (0..n)
            .map(|i| BinStat {
                label: col.labels[i].clone(),
                expected_count: col.expected_counts[i],
                actual_count: counts[i],
                expected_share: col.expected_shares[i],
                actual_share: shares[i],
                contribution: contributions[i],
            })
            .collect();
        out.push(CharacteristicRecord {
            model_id: model_id.to_string(),
            calculation_date,
            characteristic: col.name,
            role: col.role,
            kind: col.kind,
            index_value,
            bins,
        });
    }
    if r.pos != payload.len() {
        return Err(format!(
            "{} trailing bytes after the last column",
            payload.len() - r.pos
        ));
    }
    Ok(out)
}

//! Bin labels: `(-inf, e1]`, `(e1, e2]`, …, `(e_last, +inf)`, `missing`, with edges written in
//! Python's `repr` form (shortest round-trip digits), as `psi_reference.py` prints them.

use super::categorical::MISSING_LABEL;

/// Formats `x` like Python's `repr(float)`: shortest digits that round-trip; positional when
/// 1e-4 ≤ |x| < 1e16 (with a trailing `.0` for integers), otherwise scientific with a signed
/// two-digit-minimum exponent (`1e-05`, `1.5e+16`); `inf`, `-inf`, `nan` for non-finite values.
pub fn python_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "5e0".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp < 0 {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        } else if exp + 1 >= n {
            let zeros = "0".repeat((exp + 1 - n) as usize);
            format!("{sign}{digits}{zeros}.0")
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let esign = if exp < 0 { '-' } else { '+' };
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

/// Labels of numeric bins for strictly increasing `edges`: `edges.len() + 2` labels, the last
/// `missing`; `(-inf, +inf)` when there is no edge.
pub fn numeric_labels(edges: &[f64]) -> Vec<String> {
    let mut out = Vec::with_capacity(edges.len() + 2);
    match (edges.first(), edges.last()) {
        (Some(first), Some(last)) => {
            out.push(format!("(-inf, {}]", python_repr(*first)));
            for w in edges.windows(2) {
                out.push(format!("({}, {}]", python_repr(w[0]), python_repr(w[1])));
            }
            out.push(format!("({}, +inf)", python_repr(*last)));
        }
        _ => out.push("(-inf, +inf)".to_string()),
    }
    out.push(MISSING_LABEL.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        // Expected strings are Python 3.11's repr() of the same floats.
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (7.0, "7.0"),
            (1012.1, "1012.1"),
            (0.14345129999999998, "0.14345129999999998"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1.5e-4, "0.00015"),
            (1e-5, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e20, "1.2345e+20"),
            (123456.789, "123456.789"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-1999.0, "-1999.0"),
        ];
        for (x, want) in cases {
            assert_eq!(python_repr(x), want, "{x:e}");
        }
    }

    #[test]
    fn numeric_labels_are_right_closed() {
        assert_eq!(
            numeric_labels(&[1.0, 2.5]),
            vec!["(-inf, 1.0]", "(1.0, 2.5]", "(2.5, +inf)", "missing"]
        );
        assert_eq!(numeric_labels(&[]), vec!["(-inf, +inf)", "missing"]);
    }
}

//! Samples, their summaries and the printed table.

use std::time::Duration;

/// Median, min and max of repeated runs.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Summary {
    /// Summary of `samples` (any unit); `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        (n > 0).then(|| Self {
            median: if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            },
            min: sorted[0],
            max: sorted[n - 1],
            runs: n,
        })
    }

    /// Summary of durations in milliseconds.
    pub fn of_ms(samples: &[Duration]) -> Option<Self> {
        let ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        Self::of(&ms)
    }
}

/// Nearest-rank percentile `p` (0..=100) of `samples`, in milliseconds.
pub fn percentile_ms(samples: &[Duration], p: usize) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * (sorted.len() - 1) + 50) / 100;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

/// One printed row.
#[derive(Debug, Clone)]
struct Row {
    section: &'static str,
    measure: String,
    median: String,
    min: String,
    max: String,
    note: String,
}

/// The figures table, filled as the suite goes and printed at the end.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

fn fmt(value: f64, unit: &str) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else if value >= 100.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

impl Table {
    /// A row with a summary in `unit` and a note.
    pub fn summary(
        &mut self,
        section: &'static str,
        measure: impl Into<String>,
        summary: Option<Summary>,
        unit: &str,
        note: impl Into<String>,
    ) {
        let (median, min, max) = match summary {
            Some(s) => (fmt(s.median, unit), fmt(s.min, unit), fmt(s.max, unit)),
            None => ("(no data)".to_owned(), String::new(), String::new()),
        };
        let note = match summary {
            Some(s) => format!("{} runs; {}", s.runs, note.into()),
            None => note.into(),
        };
        self.push(section, measure.into(), median, min, max, note);
    }

    /// A row with free-form cells.
    pub fn cells(
        &mut self,
        section: &'static str,
        measure: impl Into<String>,
        median: impl Into<String>,
        min: impl Into<String>,
        max: impl Into<String>,
        note: impl Into<String>,
    ) {
        self.push(
            section,
            measure.into(),
            median.into(),
            min.into(),
            max.into(),
            note.into(),
        );
    }

    fn push(
        &mut self,
        section: &'static str,
        measure: String,
        median: String,
        min: String,
        max: String,
        note: String,
    ) {
        eprintln!("bench: [{section}] {measure}: {median} ({min} .. {max}) {note}");
        self.rows.push(Row {
            section,
            measure,
            median,
            min,
            max,
            note,
        });
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| figure | measure | median / p50 | min / p99 | max | note |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.section, r.measure, r.median, r.min, r.max, r.note
            ));
        }
        out
    }
}

/// `a / b` of two medians, for the ratio column.
pub fn ratio(a: Option<Summary>, b: Option<Summary>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => format!("ratio {:.2}", a.median / b.median),
        _ => "ratio –".to_owned(),
    }
}

/// How many of the runs behind a figure needed a retry, for its note:
/// `attempts` holds, per run, the attempt that succeeded.
pub fn retries_note(attempts: &[u32]) -> String {
    let retried = attempts.iter().filter(|a| **a > 1).count();
    if retried == 0 {
        "no retries".to_owned()
    } else {
        format!("{retried} of them retried after a stall (times are of the attempt that worked)")
    }
}

//! Plain, kubectl-like tables for people (comfy-table does the layout).

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table as Layout};

/// A table with a header row.
#[derive(Debug)]
pub struct Table {
    layout: Layout,
}

impl Table {
    /// A table with these column titles.
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        let mut layout = Layout::new();
        layout
            .load_preset(NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        Self { layout }
    }

    /// Add a row.
    pub fn row<const N: usize>(&mut self, cells: [String; N]) {
        self.layout.add_row(cells);
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in self.layout.lines() {
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Bytes in the largest whole binary unit, e.g. `4GiB`, `512MiB`.
pub fn bytes(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{}{unit}", n >> shift);
        }
    }
    format!("{n}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rows() {
        assert_eq!(bytes(4 << 30), "4GiB");
        assert_eq!(bytes(1536 << 20), "1536MiB");
        let mut t = Table::new(["A", "B"]);
        t.row(["x".into(), "yy".into()]);
        let text = t.to_string();
        assert!(text.lines().next().unwrap().contains('A'));
        assert!(text.contains("yy"));
    }
}

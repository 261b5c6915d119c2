//! Glob matching for watch `patterns` and copy `exclude`s: `*` (within one path component),
//! `**` (across components), `?`, and `[abc]`, `[a-z]`, `[!x]` classes.

/// Whether `text` matches `pattern` in full.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    matches(&pattern, &text)
}

fn matches(pattern: &[char], text: &[char]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some('*') if pattern.get(1) == Some(&'*') => {
            let rest = &pattern[2..];
            (0..=text.len()).any(|i| matches(rest, &text[i..]))
        }
        Some('*') => {
            let rest = &pattern[1..];
            for i in 0..=text.len() {
                if matches(rest, &text[i..]) {
                    return true;
                }
                if text.get(i) == Some(&'/') {
                    return false;
                }
            }
            false
        }
        Some('?') => {
            matches!(text.first(), Some(c) if *c != '/') && matches(&pattern[1..], &text[1..])
        }
        Some('[') => match (class(&pattern[1..]), text.first()) {
            (Some((accepts, used)), Some(c)) => {
                accepts(*c) && matches(&pattern[1 + used..], &text[1..])
            }
            (None, Some('[')) => matches(&pattern[1..], &text[1..]),
            _ => false,
        },
        Some(p) => text.first() == Some(p) && matches(&pattern[1..], &text[1..]),
    }
}

/// Parse a class body after `[`: a predicate and how many chars it used
/// (through the closing `]`), or `None` when it never closes.
fn class(body: &[char]) -> Option<(impl Fn(char) -> bool, usize)> {
    let (negated, start) = match body.first() {
        Some('!' | '^') => (true, 1),
        _ => (false, 0),
    };
    let close = body.iter().skip(start + 1).position(|c| *c == ']')? + start + 1;
    let items: Vec<char> = body[start..close].to_vec();
    let accepts = move |c: char| {
        let mut hit = false;
        let mut i = 0;
        while i < items.len() {
            if i + 2 < items.len() && items[i + 1] == '-' {
                hit |= items[i] <= c && c <= items[i + 2];
                i += 3;
            } else {
                hit |= items[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((accepts, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_a_component_and_double_star_crosses() {
        assert!(glob_match("*.go", "main.go"));
        assert!(!glob_match("*.go", "cmd/main.go"));
        assert!(glob_match("/app/**/*.go", "/app/cmd/x/main.go"));
        assert!(glob_match("/app/*", "/app/a"));
        assert!(!glob_match("/app/*", "/app/a/b"));
        assert!(glob_match("file?.txt", "file1.txt"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[!a-c]x", "bx"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", "ab"));
    }
}

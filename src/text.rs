//! Text folding, so that a search typed in Simplified characters finds the document's
//! Traditional wording (and the other way round).

/// Folds text for comparison: Traditional characters become Simplified, full-width ASCII
/// becomes half-width, and Latin letters become lower case. Stored search columns and
/// query terms go through the same fold, so lookups are a plain comparison in SQL.
pub fn fold(text: &str) -> String {
    let half_width: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect();
    fast2s::convert(&half_width).to_lowercase()
}

/// A `LIKE` pattern that matches `term` anywhere, with the wildcard characters in `term`
/// escaped (the escape character is `\`).
pub fn contains_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplified_and_traditional_fold_to_the_same_text() {
        assert_eq!(fold("市住房和城鄉建設局"), fold("市住房和城乡建设局"));
        assert_eq!(fold("生態環境狀況指數"), fold("生态环境状况指数"));
    }

    #[test]
    fn full_width_and_case_are_folded() {
        assert_eq!(fold("ＥＩ（指數）"), fold("ei(指数)"));
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("100%_a"), "%100\\%\\_a%");
    }
}

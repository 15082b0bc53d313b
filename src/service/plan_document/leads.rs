//! Lead lists: `(牵头单位:市生态环境局、市水利局按职责牵头)` at the end of a paragraph,
//! and the departments they name.

use std::ops::Range;

use crate::text::fold;

/// The words that open a lead list inside its parentheses.
const MARKERS: [&str; 4] = ["牵头单位:", "牵头部门:", "责任单位:", "牵头:"];

/// Endings that only say how the departments lead, not who: kept in the wording, left out
/// of the names.
const MANNER: [&str; 5] = ["按职责分工牵头", "按职责牵头", "分别牵头", "牵头", "负责"];

/// Where the lead list of a paragraph is, in its canonical form.
#[derive(Debug, PartialEq, Eq)]
pub struct LeadClause {
    /// The paragraph before the opening parenthesis.
    pub body: Range<usize>,
    /// The list as written, without marker and parentheses.
    pub list: Range<usize>,
}

/// Finds the lead list that closes a paragraph, if there is one.
pub fn find_lead_clause(canon: &str) -> Option<LeadClause> {
    let (open, marker) = MARKERS
        .iter()
        .filter_map(|marker| {
            canon
                .rfind(&format!("({marker}"))
                .map(|at| (at, marker.len()))
        })
        .max_by_key(|(at, _)| *at)?;
    let list_start = open + 1 + marker;
    let mut depth = 0;
    let mut list_end = canon.len();
    for (at, c) in canon[list_start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                list_end = list_start + at;
                break;
            }
            ')' => depth -= 1,
            _ => {}
        }
    }
    Some(LeadClause {
        body: 0..open,
        list: list_start..list_end,
    })
}

/// The names in a lead list (byte ranges in `list`), and whether the list was understood:
/// every entry looks like the name of a department.
pub fn split_lead_list(list: &str) -> (Vec<Range<usize>>, bool) {
    let mut end = list.trim_end().len();
    for manner in MANNER {
        if list[..end].ends_with(manner) {
            end -= manner.len();
            break;
        }
    }
    let mut names = Vec::new();
    let mut start = 0;
    let mut understood = true;
    for (at, c) in list[..end]
        .char_indices()
        .chain(std::iter::once((end, '、')))
    {
        if matches!(c, '、' | ',' | ';' | '/') {
            let raw = &list[start..at];
            let lead = raw.len() - raw.trim_start().len();
            let name = raw.trim();
            if !looks_like_department(name) {
                understood = false;
            }
            if !name.is_empty() {
                names.push(start + lead..start + lead + name.len());
            }
            start = at + c.len_utf8();
        }
    }
    (names.clone(), understood && !names.is_empty())
}

/// A department's name: a few characters, no punctuation, ending in the word for an
/// office (局, 委, 部, 院, 办, 中心, 政府…), and not a group (各…, …等).
pub fn looks_like_department(name: &str) -> bool {
    let length = name.chars().count();
    (3..=24).contains(&length)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || ",。:;()《》“”\"'?!".contains(c) || c.is_ascii_digit())
        && !name.starts_with('各')
        && !name.ends_with('等')
        && name
            .chars()
            .last()
            .is_some_and(|c| "局委部院办室厅会处心司府队所站社行馆团署组".contains(c))
}

/// A department ecoplan already knows, by the names it answers to.
#[derive(Clone, Debug)]
pub struct KnownDepartment {
    pub code: String,
    pub name: String,
    pub aliases: Vec<String>,
}

/// The known department a name as written refers to: its full name or an alias, in
/// either script.
pub fn resolve<'a>(written: &str, known: &'a [KnownDepartment]) -> Option<&'a KnownDepartment> {
    let wanted = fold(written);
    known.iter().find(|department| {
        fold(&department.name) == wanted || department.aliases.iter().any(|a| fold(a) == wanted)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::service::plan_document::canon::canonical;

    fn names(list: &str) -> (Vec<&str>, bool) {
        let (ranges, understood) = split_lead_list(list);
        (ranges.into_iter().map(|r| &list[r]).collect(), understood)
    }

    #[test]
    fn the_lead_clause_closes_the_paragraph() {
        let text = canonical("强化。(牽頭單位:市委組織部)");
        let clause = find_lead_clause(&text).unwrap();
        assert_eq!(&text[clause.body], "强化。");
        assert_eq!(&text[clause.list], "市委组织部");
        assert!(find_lead_clause("没有牵头单位的段落。").is_none());
    }

    #[test]
    fn full_width_and_ascii_parentheses_are_the_same() {
        let full = canonical("正文。（牽頭單位：市財政局）");
        let ascii = canonical("正文。(牵头单位:市财政局)");
        assert_eq!(
            &full[find_lead_clause(&full).unwrap().list],
            &ascii[find_lead_clause(&ascii).unwrap().list]
        );
    }

    #[test]
    fn several_leads_by_their_duties() {
        let list = canonical("市生態環境局、市水利局、市城管執法局按職責牽頭");
        assert_eq!(
            names(&list),
            (vec!["市生态环境局", "市水利局", "市城管执法局"], true)
        );
    }

    #[test]
    fn names_with_and_inside_stay_whole() {
        let list = canonical("市住房和城鄉建設局、市工业和信息化局");
        assert_eq!(
            names(&list),
            (vec!["市住房和城乡建设局", "市工业和信息化局"], true)
        );
    }

    #[test]
    fn a_group_of_governments_is_not_understood() {
        assert!(!names("各县(市、区)政府").1);
        assert!(!names("市直有关部门等").1);
        assert!(!names("").1);
    }

    #[test]
    fn short_names_and_either_script_resolve() {
        let known = vec![KnownDepartment {
            code: "housing-construction".into(),
            name: "市住房和城鄉建設局".into(),
            aliases: vec!["市住建局".into()],
        }];
        assert_eq!(
            resolve("市住建局", &known).unwrap().code,
            "housing-construction"
        );
        assert_eq!(
            resolve("市住房和城乡建设局", &known).unwrap().code,
            "housing-construction"
        );
        assert!(resolve("市审计局", &known).is_none());
    }
}

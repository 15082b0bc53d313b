//! Headings: `一、指导思想` (parts of the document), `(一)…` (sections of the tasks) and
//! `1、标题。正文…` (tasks). All functions take the canonical form of one paragraph.

/// What a paragraph opens with.
#[derive(Debug, PartialEq, Eq)]
pub enum Heading {
    /// `三、主要任务`: a part of the document, with the byte where its title starts.
    Part { number: u32, title_at: usize },
    /// `(一)建立健全监管制度…`: a section of the tasks.
    Section { number: u32, title_at: usize },
    /// `1、强化政府目标责任制。…`: a task, with the byte where its text starts.
    Task { number: u32, text_at: usize },
    /// A paragraph that opens with a number but not in the form of a task heading
    /// (`13 加强…`, `13)…`): reported, never taken for a task or for the task before it.
    MalformedTask { number: u32 },
    /// Any other paragraph.
    Body,
}

/// Classifies one paragraph by its opening.
pub fn classify(canon: &str) -> Heading {
    if let Some((number, rest)) = chinese_number_prefix(canon)
        && let Some(title) = rest.strip_prefix('、')
    {
        return Heading::Part {
            number,
            title_at: canon.len() - title.len(),
        };
    }
    for (open, close) in [('(', ')'), ('〔', '〕'), ('【', '】')] {
        if let Some(inner) = canon.strip_prefix(open)
            && let Some((number, rest)) = chinese_number_prefix(inner)
            && let Some(title) = rest.strip_prefix(close)
        {
            return Heading::Section {
                number,
                title_at: canon.len() - title.len(),
            };
        }
    }
    let digits: String = canon.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 3 {
        return Heading::Body;
    }
    let Ok(number) = digits.parse::<u32>() else {
        return Heading::Body;
    };
    let rest = &canon[digits.len()..];
    // `1、` is the documents' form; `1.` (not a decimal) and `1,` are typing variants.
    for separator in ['、', '.', ','] {
        if let Some(text) = rest.strip_prefix(separator) {
            let starts_like_text = text
                .chars()
                .next()
                .is_some_and(|c| !c.is_ascii_digit() && !c.is_whitespace());
            if starts_like_text {
                return Heading::Task {
                    number,
                    text_at: canon.len() - text.len(),
                };
            }
        }
    }
    // A number followed by a unit or a percentage is the start of a sentence, not a
    // heading (`2022年…`, `95%的…`).
    let next = rest.chars().next();
    if next.is_some_and(|c| matches!(c, '年' | '月' | '日' | '%' | '个' | '项' | '条' | '.'))
    {
        return Heading::Body;
    }
    Heading::MalformedTask { number }
}

/// `十二` → 12, with the rest of the text. Numbers from 1 to 99.
pub fn chinese_number_prefix(text: &str) -> Option<(u32, &str)> {
    const DIGITS: &str = "零一二三四五六七八九";
    let run: String = text
        .chars()
        .take_while(|c| *c == '十' || DIGITS.contains(*c))
        .collect();
    let digit = |s: &str| -> Option<u32> {
        let mut chars = s.chars();
        let c = chars.next()?;
        if chars.next().is_some() {
            return None;
        }
        DIGITS.chars().position(|d| d == c).map(|p| p as u32)
    };
    let value = match run.split_once('十') {
        Some((tens, units)) => {
            let tens = if tens.is_empty() { 1 } else { digit(tens)? };
            let units = if units.is_empty() { 0 } else { digit(units)? };
            tens * 10 + units
        }
        None => digit(&run)?,
    };
    if value == 0 {
        return None;
    }
    Some((value, &text[run.len()..]))
}

/// The title of a task: its first sentence, when that is short enough to be a heading.
/// `None` when the title cannot be told apart from the text (no full stop, or a first
/// sentence that runs on); the caller then keeps the first sentence and reports it.
pub fn split_title(canon: &str, longest: usize) -> (usize, bool) {
    match canon.find('。') {
        Some(end) => (end, canon[..end].chars().count() <= longest),
        None => (canon.len(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_and_sections_in_either_parentheses() {
        assert_eq!(
            classify("三、主要任务"),
            Heading::Part {
                number: 3,
                title_at: "三、".len()
            }
        );
        assert_eq!(
            classify("(二)持续改善环境质量"),
            Heading::Section {
                number: 2,
                title_at: "(二)".len()
            }
        );
        assert_eq!(
            classify("(十二)最后一节"),
            Heading::Section {
                number: 12,
                title_at: "(十二)".len()
            }
        );
    }

    #[test]
    fn task_headings_in_the_forms_documents_use() {
        assert_eq!(
            classify("1、强化政府目标责任制。"),
            Heading::Task {
                number: 1,
                text_at: "1、".len()
            }
        );
        assert_eq!(
            classify("38.大力宣传"),
            Heading::Task {
                number: 38,
                text_at: 3
            }
        );
    }

    #[test]
    fn a_number_without_a_separator_is_a_malformed_task_not_text() {
        assert_eq!(
            classify("13 加强河湖岸线保护。"),
            Heading::MalformedTask { number: 13 }
        );
        assert_eq!(classify("2022年全面推进"), Heading::Body);
        assert_eq!(classify("为加快推进"), Heading::Body);
    }

    #[test]
    fn chinese_numbers_up_to_ninety_nine() {
        assert_eq!(chinese_number_prefix("一、").map(|(n, _)| n), Some(1));
        assert_eq!(chinese_number_prefix("十、").map(|(n, _)| n), Some(10));
        assert_eq!(chinese_number_prefix("十五、").map(|(n, _)| n), Some(15));
        assert_eq!(chinese_number_prefix("二十三)").map(|(n, _)| n), Some(23));
        assert_eq!(chinese_number_prefix("全文"), None);
    }

    #[test]
    fn a_title_is_the_first_short_sentence() {
        let (end, separated) = split_title("强化政府目标责任制。细化完善", 30);
        assert!(separated);
        assert_eq!(end, "强化政府目标责任制".len());
        let run_on = "开展城镇生活垃圾减量化行动建立“分类投放、分类收集、分类运输、分类处理”的城市生活垃圾处理系统。";
        assert!(!split_title(run_on, 30).1);
        assert!(!split_title("没有句号的标题", 30).1);
    }
}

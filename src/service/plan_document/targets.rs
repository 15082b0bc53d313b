//! Targets: the few ways a plan states what an indicator must reach (`≥20%`, `不低于55`,
//! `达到100%`, `不低于平原地区18%目标值`, `达到15平方米/人`, `92%以上`, `不下降`,
//! `保持稳定或持续改善`, `完成上级管控目标`, `全域无…`), found in the text of a task.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::canon::Passage;

/// One target found in a task's text.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundTarget {
    /// What is measured, as written (the words before the target).
    pub name: String,
    /// The name is not in the text next to the target (taken from the task's title).
    pub name_from_title: bool,
    pub kind: &'static str,
    pub value: Option<f64>,
    pub unit: Option<String>,
    /// The text gives no unit; `unit` is assumed from the name (a rate is a percentage).
    pub unit_assumed: bool,
    pub better: &'static str,
    /// The target in the document's own words.
    pub target_text: String,
    /// Set when the target is for a later year than the plan's (`到2025年,…力争达到100%`):
    /// a milestone of the indicator before it.
    pub milestone_year: Option<i32>,
}

/// What a scan of one text found.
#[derive(Debug, Default)]
pub struct Scan {
    pub targets: Vec<FoundTarget>,
    /// Clauses that read like a target (`确保…`, a percentage) in which none was recognised.
    pub unrecognised: Vec<String>,
}

static TARGET: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(concat!(
        r"(?P<ext>(?:不下降并|不降低并)?(?:完成|达到)",
        r"(?:国家及省定|国家和省定|国家|省定|省级|省|上级|市级|市定|年度)[^,;。]{0,16}?",
        r"(?:考核目标任务|目标任务|考核目标|管控目标|考核要求|目标|要求|任务|计划)",
        r"(?:并保持稳定或持续改善)?)",
        r"|(?P<num>(?P<pre>均|力争|每年)?",
        r"(?:(?P<fillverb>不低于|至少)(?:[^\d,;。、]{0,6}?)",
        r"|(?P<verb>不少于|不小于|≥|>=|达到|达|为|不高于|不超过|不大于|≤|<=|控制在)?)",
        r"\s*(?P<value>\d+(?:\.\d+)?)\s*",
        r"(?P<unit>%|‰|平方米/人|平方米|微克/立方米|公顷|亩|公里|千米|米|万吨|吨|次|个工作日|工作日|个|处|家|项)?",
        r"(?P<suffix>以上|以下|以内)?(?:目标值)?)",
        r"|(?P<nodec>不下降|不降低|不减少|只增不减)",
        r"|(?P<noinc>不增加|不上升|不升高|只减不增)",
        r"|(?P<improve>保持稳定或持续改善|逐步降低|逐步提高|逐年降低|逐年提高|逐年下降|稳中有降)",
        r"|(?P<qual>(?:全域无|彻底消灭)(?P<object>[^,;。]{1,16})",
        r"|无(?P<object2>[^,;。]{1,16}?)发生|全覆盖|不改变)",
    ))
    .expect("the target pattern is valid")
});

static LATER_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"^到(?P<year>\d{4})年(?:底|末)?(?:前)?").expect("the year pattern is valid")
});

/// Words that open a clause but are not part of what is measured.
const LEADING_WORDS: [&str; 11] = [
    "确保", "全市", "全县", "全区", "全省", "并且", "其中", "并", "且", "使", "、",
];

/// Finds the targets in `text`, in order. `title` names a target that the text states
/// without saying what it measures; `plan_year` tells a milestone from the year's target.
pub fn scan(text: &Passage, title: &str, plan_year: i32) -> Scan {
    let mut scan = Scan::default();
    for sentence in pieces(&text.canon, 0..text.canon.len(), &['。', ';', '!']) {
        let mut year: Option<i32> = None;
        let mut pending: Option<Passage> = None;
        for clause in pieces(&text.canon, sentence, &[',']) {
            let mut clause = text.sub(clause).trimmed();
            if let Some(found) = LATER_YEAR.captures(&clause.canon) {
                year = found["year"].parse().ok();
                let rest = found.get(0).map_or(0, |m| m.end());
                clause = clause.sub(rest..clause.canon.len()).trimmed();
            }
            let milestone_year = year.filter(|year| *year > plan_year);
            let before = scan.targets.len();
            scan_clause(&clause, title, milestone_year, &mut scan.targets);
            if scan.targets.len() > before {
                // `确保副科级以上在职党政领导干部,参加…的人数比例达100%`: the clause before
                // began the name.
                if let Some(start) = pending.take() {
                    let first = &mut scan.targets[before];
                    if !first.name_from_title {
                        first.name = format!("{}{}", name_words(&start), first.name);
                    }
                }
                continue;
            }
            if let Some(start) = pending.take() {
                scan.unrecognised.push(start.written.to_owned());
            }
            if clause.canon.contains("确保") || clause.canon.contains('%') {
                pending = Some(clause);
            }
        }
        if let Some(start) = pending.take() {
            scan.unrecognised.push(start.written.to_owned());
        }
    }
    scan
}

fn scan_clause(
    clause: &Passage,
    title: &str,
    milestone_year: Option<i32>,
    out: &mut Vec<FoundTarget>,
) {
    let mut name_from = 0;
    let mut first_name: Option<String> = None;
    for found in TARGET.captures_iter(&clause.canon) {
        let Some(whole) = found.get(0) else { continue };
        let Some(target) = read_target(&found) else {
            continue;
        };
        let target_text = clause.written_at(whole.range()).trim().to_owned();
        let object = found.name("object").or_else(|| found.name("object2"));
        let (names, from_title) = match object {
            // `全域无劣Ⅴ类和黑臭水体`: the target names what must be absent.
            Some(object) => (vec![clause.written_at(object.range()).to_owned()], false),
            None => {
                let before = clause.sub(name_from..whole.start());
                let after = clause.sub(whole.end()..clause.canon.len());
                let shared = target.shared || found.name("pre").is_some_and(|p| p.as_str() == "均");
                match subject(&before, shared) {
                    Some(names) => (names, false),
                    None => match subject(&after, false) {
                        Some(names) => (names, false),
                        None => (vec![title.to_owned()], true),
                    },
                }
            }
        };
        name_from = whole.end();
        for name in names {
            let name = match &first_name {
                // `生态保护红线面积不减少、功能不降低`: a short name shares the first one's stem.
                Some(first) if name.chars().count() <= 3 && first.chars().count() > 3 => {
                    let keep = first.chars().count() - name.chars().count();
                    format!("{}{name}", first.chars().take(keep).collect::<String>())
                }
                _ => name,
            };
            first_name.get_or_insert_with(|| name.clone());
            let (unit, unit_assumed) = match (&target.unit, target.kind) {
                (Some(unit), _) => (Some(unit.clone()), false),
                (None, "EXTERNAL" | "NO_DECREASE" | "NO_INCREASE" | "IMPROVE")
                    if is_rate(&super::canon::canonical(&name)) =>
                {
                    (Some("%".to_owned()), true)
                }
                _ => (None, false),
            };
            let better = target
                .better
                .unwrap_or_else(|| better_from_name(&super::canon::canonical(&name)));
            out.push(FoundTarget {
                name,
                name_from_title: from_title,
                kind: target.kind,
                value: target.value,
                unit,
                unit_assumed,
                better,
                target_text: target_text.clone(),
                milestone_year,
            });
        }
    }
}

struct Target {
    kind: &'static str,
    value: Option<f64>,
    unit: Option<String>,
    /// `None`: the wording does not say; the name decides.
    better: Option<&'static str>,
    /// One target for several names (`优良天数比例和PM2.5浓度下降幅度完成…`).
    shared: bool,
}

fn read_target(found: &Captures) -> Option<Target> {
    let text = found.get(0)?.as_str();
    if found.name("ext").is_some() {
        return Some(Target {
            kind: "EXTERNAL",
            value: None,
            unit: None,
            better: None,
            shared: true,
        });
    }
    if found.name("num").is_some() {
        let verb = found
            .name("fillverb")
            .or_else(|| found.name("verb"))
            .map(|m| m.as_str());
        let suffix = found.name("suffix").map(|m| m.as_str());
        let at_most = matches!(
            verb,
            Some("不高于" | "不超过" | "不大于" | "≤" | "<=" | "控制在")
        ) || matches!(suffix, Some("以下" | "以内"));
        if verb.is_none() && suffix.is_none() {
            // A bare number (`2022年`, `150米半径`) is not a target.
            return None;
        }
        let value: f64 = found.name("value")?.as_str().parse().ok()?;
        let every_year = found.name("pre").is_some_and(|p| p.as_str() == "每年");
        let unit = found.name("unit").map(|unit| match unit.as_str() {
            "平方米/人" => "m²/人".to_owned(),
            "平方米" => "m²".to_owned(),
            "微克/立方米" => "μg/m³".to_owned(),
            "个工作日" => "工作日".to_owned(),
            "次" if every_year => "次/年".to_owned(),
            other => other.to_owned(),
        });
        return Some(Target {
            kind: if at_most { "AT_MOST" } else { "AT_LEAST" },
            value: Some(value),
            unit,
            better: Some(if at_most { "LOWER" } else { "HIGHER" }),
            shared: false,
        });
    }
    let (kind, better) = if found.name("nodec").is_some() {
        ("NO_DECREASE", "HIGHER")
    } else if found.name("noinc").is_some() {
        ("NO_INCREASE", "LOWER")
    } else if found.name("improve").is_some() {
        let lower = text.contains("降") || text.contains("减");
        ("IMPROVE", if lower { "LOWER" } else { "HIGHER" })
    } else {
        ("QUALITATIVE", "HIGHER")
    };
    Some(Target {
        kind,
        value: None,
        unit: None,
        better: Some(better),
        shared: false,
    })
}

/// The names in the words before (or after) a target; several when one target is stated
/// for several things (`A、B完成上级管控目标`, `A和B均不低于80%`).
fn subject(words: &Passage, shared: bool) -> Option<Vec<String>> {
    let words = without_leading_words(words);
    if words.is_empty() {
        return None;
    }
    if !shared {
        return Some(vec![words.written.to_owned()]);
    }
    // Split at `、` and `和` outside parentheses (`水质优良(一、二类)比例` is one name).
    let mut names = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (at, c) in words.canon.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '、' | '和' if depth == 0 => {
                names.push(words.written_at(start..at).to_owned());
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    names.push(words.written_at(start..words.canon.len()).to_owned());
    names.retain(|name| !name.trim().is_empty());
    Some(names)
}

fn without_leading_words<'a>(words: &Passage<'a>) -> Passage<'a> {
    let mut words = words.trimmed();
    while let Some(word) = LEADING_WORDS.iter().find(|w| words.canon.starts_with(**w)) {
        words = words.sub(word.len()..words.canon.len()).trimmed();
    }
    words
}

fn name_words(words: &Passage) -> String {
    without_leading_words(words).written.to_owned()
}

/// A rate, a share or a reduction: measured in percent.
fn is_rate(name: &str) -> bool {
    name.ends_with('率') || name.ends_with("比例") || name.ends_with("幅度")
}

/// Which way a target stated without a number gets better, from what it measures:
/// emissions, water used, energy used and concentrations are better lower (but a rate of
/// their reduction is better higher).
fn better_from_name(name: &str) -> &'static str {
    let lowering = ["排放", "用水量", "能耗", "浓度", "事故"];
    if !is_rate(name) && !name.ends_with("指数") && lowering.iter().any(|w| name.contains(w)) {
        "LOWER"
    } else {
        "HIGHER"
    }
}

/// Byte ranges of `text[range]` between the separators.
fn pieces(text: &str, range: Range<usize>, separators: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = range.start;
    for (at, c) in text[range.clone()].char_indices() {
        if separators.contains(&c) {
            out.push(start..range.start + at);
            start = range.start + at + c.len_utf8();
        }
    }
    out.push(start..range.end);
    out.retain(|piece| !text[piece.clone()].trim().is_empty());
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn targets(text: &str) -> Vec<FoundTarget> {
        scan(&Passage::new(text), "任务标题", 2022).targets
    }

    fn one(text: &str) -> FoundTarget {
        let found = targets(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn at_least_a_percentage() {
        let target = one("確保地方黨政幹部實績考核評分標準中生態文明建設工作所占的比例≥20%。");
        assert_eq!(
            (
                target.kind,
                target.value,
                target.unit.as_deref(),
                target.better
            ),
            ("AT_LEAST", Some(20.0), Some("%"), "HIGHER")
        );
        assert_eq!(target.target_text, "≥20%");
        assert_eq!(
            target.name,
            "地方黨政幹部實績考核評分標準中生態文明建設工作所占的比例"
        );
    }

    #[test]
    fn not_lower_than_without_a_unit_in_both_scripts() {
        for text in [
            "確保生態環境狀況指數(EI)不低於55。",
            "确保生态环境状况指数(EI)不低于55。",
        ] {
            let target = one(text);
            assert_eq!(
                (target.kind, target.value, target.unit),
                ("AT_LEAST", Some(55.0), None)
            );
            assert!(target.target_text.ends_with("55"));
        }
    }

    #[test]
    fn reaching_a_value() {
        for (text, wording) in [
            ("確保環境信息公開率達到100%。", "達到100%"),
            ("确保全市危险废物利用处置率达100%。", "达100%"),
            ("確保水質達標率為100%。", "為100%"),
        ] {
            let target = one(text);
            assert_eq!((target.kind, target.value), ("AT_LEAST", Some(100.0)));
            assert_eq!(target.target_text, wording);
        }
    }

    #[test]
    fn a_target_value_with_words_between() {
        let target = one("確保林草覆蓋率不低於平原地區18%目標值。");
        assert_eq!(
            (target.value, target.unit.as_deref()),
            (Some(18.0), Some("%"))
        );
        assert_eq!(target.target_text, "不低於平原地區18%目標值");
    }

    #[test]
    fn area_per_person_and_times_a_year() {
        let area = one("確保城鎮人均公園綠地面積達到15平方米/人。");
        assert_eq!(
            (area.value, area.unit.as_deref()),
            (Some(15.0), Some("m²/人"))
        );
        let times = one("每年至少组织2次生态文明专题培训");
        assert_eq!(
            (times.value, times.unit.as_deref()),
            (Some(2.0), Some("次/年"))
        );
        assert_eq!(times.target_text, "每年至少组织2次");
        assert_eq!(times.name, "生态文明专题培训");
    }

    #[test]
    fn above_a_value() {
        let target = one("確保農村生活垃圾無害化處理村占比達到80%以上。");
        assert_eq!((target.kind, target.value), ("AT_LEAST", Some(80.0)));
        assert_eq!(target.target_text, "達到80%以上");
        assert_eq!(one("比例92%以上").target_text, "92%以上");
    }

    #[test]
    fn at_most_a_value() {
        let target = one("确保单位面积化肥使用量控制在20吨以内。");
        assert_eq!((target.kind, target.better), ("AT_MOST", "LOWER"));
    }

    #[test]
    fn no_decrease_and_not_changed() {
        let found = targets("確保生態保護紅線面積不減少、功能不降低、性質不改變。");
        let kinds: Vec<_> = found.iter().map(|t| (t.kind, t.name.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("NO_DECREASE", "生態保護紅線面積"),
                ("NO_DECREASE", "生態保護紅線功能"),
                ("QUALITATIVE", "生態保護紅線性質")
            ]
        );
    }

    #[test]
    fn stable_or_improving_and_gradually_lower() {
        let stable = one("确保一般工业固体废物综合利用率保持稳定或持续改善。");
        assert_eq!((stable.kind, stable.better), ("IMPROVE", "HIGHER"));
        assert_eq!(
            (stable.unit.as_deref(), stable.unit_assumed),
            (Some("%"), true)
        );
        let lower = one("確保一次性用品的使用率逐步降低。");
        assert_eq!((lower.kind, lower.better), ("IMPROVE", "LOWER"));
    }

    #[test]
    fn external_targets_for_several_indicators() {
        let found = targets(
            "確保全市優良天數比例和PM2.5濃度下降幅度完成國家及省定考核目標任務並保持穩定或持續改善。",
        );
        let names: Vec<_> = found.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["優良天數比例", "PM2.5濃度下降幅度"]);
        assert!(found.iter().all(|t| t.kind == "EXTERNAL"
            && t.target_text == "完成國家及省定考核目標任務並保持穩定或持續改善"));
        let found = targets("确保滨海湿地修复面积、自然岸线修复长度完成上级管控目标。");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].unit, None);
        let lower = one("确保单位地区生产总值用水量达到省级考核要求。");
        assert_eq!(lower.better, "LOWER");
        let kept = one("确保自然岸线保有率不下降并完成上级管控目标。");
        assert_eq!(
            (kept.kind, kept.target_text.as_str()),
            ("EXTERNAL", "不下降并完成上级管控目标")
        );
    }

    #[test]
    fn both_of_two_names() {
        let found = targets("確保公眾對生態文明建設的滿意度和參與度均不低於80%。");
        let names: Vec<_> = found.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["公眾對生態文明建設的滿意度", "公眾對生態文明建設的參與度"]
        );
        assert!(found.iter().all(|t| t.target_text == "均不低於80%"));
    }

    #[test]
    fn qualitative_targets_name_what_must_be_absent() {
        let none = one("确保全市无重、特大突发环境污染事故发生。");
        assert_eq!(
            (none.kind, none.name.as_str()),
            ("QUALITATIVE", "重、特大突发环境污染事故")
        );
        assert_eq!(none.target_text, "无重、特大突发环境污染事故发生");
        assert_eq!(one("彻底消灭农村黑臭水体。").name, "农村黑臭水体");
        assert_eq!(one("確保城市綠地服務範圍全覆蓋").target_text, "全覆蓋");
    }

    #[test]
    fn a_later_year_is_a_milestone() {
        let found = targets(
            "到2022年底,確保比例達到92%以上,到2025年,城鎮新建綠色建築占當年新建建築比例力爭達到100%。",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].milestone_year, None);
        assert_eq!(found[1].milestone_year, Some(2025));
        assert_eq!(found[1].target_text, "力爭達到100%");
    }

    #[test]
    fn numbers_that_are_not_targets() {
        assert!(targets("按“300米見綠、500米見園”的要求,在公園綠地1公里服務範圍").is_empty());
        assert!(targets("以“無廢城市”建設為目標,推進碳達峰行動").is_empty());
        assert!(targets("水質達到或優於Ⅲ類").is_empty());
    }

    #[test]
    fn a_target_that_is_not_understood_is_reported() {
        let scan = scan(&Passage::new("确保森林覆盖率提高到三成。"), "标题", 2022);
        assert!(scan.targets.is_empty());
        assert_eq!(scan.unrecognised, ["确保森林覆盖率提高到三成"]);
    }

    #[test]
    fn a_name_begun_in_the_clause_before() {
        let found = scan(
            &Passage::new("確保副科級以上在職黨政領導幹部,參加專題培訓的人數比例達100%。"),
            "标题",
            2022,
        );
        assert!(found.unrecognised.is_empty());
        assert_eq!(
            found.targets[0].name,
            "副科級以上在職黨政領導幹部參加專題培訓的人數比例"
        );
    }

    #[test]
    fn a_target_named_only_by_its_task() {
        let target = one("確保完成年度審核計畫。");
        assert!(target.name_from_title);
        assert_eq!(
            (target.kind, target.name.as_str()),
            ("EXTERNAL", "任务标题")
        );
    }
}

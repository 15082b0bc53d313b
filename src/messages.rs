//! Error messages in the reader's language. The server words its messages in English;
//! answers carry them in Traditional Chinese (the plan's own script) unless the client's
//! `Accept-Language` asks for Simplified Chinese (`zh-CN`, `zh-Hans`, …) or English. The
//! code in `extensions.code` never changes. Each message is matched against the catalog
//! below, template by template (`{}` stands for a part that varies: an id, a number, a
//! name), and the parts that vary are carried over; Simplified Chinese is the Traditional
//! text converted; the GraphQL parser's and validator's messages too, with the names and
//! the place in the document they quote left as they are. A message the catalog does not
//! know stays in English.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// The language of an answer's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    TraditionalChinese,
    SimplifiedChinese,
    English,
}

impl Language {
    /// The language an `Accept-Language` header prefers among those the server writes,
    /// by weight and then by order; Traditional Chinese when it names none of them.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::TraditionalChinese;
        };
        let mut best: Option<(f32, Self)> = None;
        for range in header.split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|parameter| parameter.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let Some(language) = Self::of_tag(&tag) else {
                continue;
            };
            if weight > 0.0 && best.is_none_or(|(highest, _)| weight > highest) {
                best = Some((weight, language));
            }
        }
        best.map_or(Self::TraditionalChinese, |(_, language)| language)
    }

    fn of_tag(tag: &str) -> Option<Self> {
        let mut subtags = tag.split('-');
        match subtags.next()? {
            "en" => Some(Self::English),
            "zh" => {
                let rest: Vec<&str> = subtags.collect();
                let simplified = rest.contains(&"hans")
                    || (!rest.contains(&"hant")
                        && rest
                            .iter()
                            .any(|region| ["cn", "sg", "my"].contains(region)));
                Some(if simplified {
                    Self::SimplifiedChinese
                } else {
                    Self::TraditionalChinese
                })
            }
            "*" => Some(Self::TraditionalChinese),
            _ => None,
        }
    }

    /// The value of `Content-Language` for answers in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Self::TraditionalChinese => "zh-Hant",
            Self::SimplifiedChinese => "zh-Hans",
            Self::English => "en",
        }
    }
}

/// A message in the language; the English message when the catalog does not know it.
pub fn translate(message: &str, language: Language) -> Cow<'_, str> {
    if language == Language::English {
        return Cow::Borrowed(message);
    }
    let Some(traditional) = traditional(message, 0) else {
        return Cow::Borrowed(message);
    };
    match language {
        Language::SimplifiedChinese => Cow::Owned(fast2s::convert(&traditional)),
        _ => Cow::Owned(traditional),
    }
}

/// Whether the catalog knows a message.
pub fn is_translated(message: &str) -> bool {
    traditional(message, 0).is_some()
}

/// A message of the catalog as compiled: the English template as a pattern.
struct Entry {
    pattern: Regex,
    traditional: &'static str,
}

fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        CATALOG
            .iter()
            .filter_map(|(english, traditional)| {
                let literal_parts: Vec<String> = english.split("{}").map(regex::escape).collect();
                let pattern = format!("(?s)^{}$", literal_parts.join("(.+?)"));
                Some(Entry {
                    pattern: Regex::new(&pattern).ok()?,
                    traditional,
                })
            })
            .collect()
    })
}

/// The Traditional Chinese of a message, its varying parts translated too when the
/// catalog knows them (a message within a message).
fn traditional(message: &str, depth: usize) -> Option<String> {
    let (entry, captures) = entries()
        .iter()
        .find_map(|entry| entry.pattern.captures(message).map(|found| (entry, found)))?;
    let parts: Vec<String> = captures
        .iter()
        .skip(1)
        .map(|part| {
            let part = part.map_or("", |part| part.as_str());
            (depth < 2)
                .then(|| traditional(part, depth + 1))
                .flatten()
                .unwrap_or_else(|| part.to_owned())
        })
        .collect();
    Some(fill(entry.traditional, &parts))
}

/// A template with its holes filled: `{}` takes the parts in order, `{N}` the N-th.
fn fill(template: &str, parts: &[String]) -> String {
    let mut filled = String::with_capacity(template.len() + 32);
    let mut next = 0;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            filled.push_str(&rest[open..]);
            return filled;
        };
        let inside = &after[..close];
        let index = if inside.is_empty() {
            next += 1;
            Some(next - 1)
        } else {
            inside.parse::<usize>().ok()
        };
        match index.and_then(|index| parts.get(index)) {
            Some(part) => filled.push_str(part),
            None => {
                filled.push('{');
                filled.push_str(inside);
                filled.push('}');
            }
        }
        rest = &after[close + 1..];
    }
    filled.push_str(rest);
    filled
}

/// Every message the server writes, with its Traditional Chinese. The first template
/// that matches wins: the more particular come first.
const CATALOG: &[(&str, &str)] = &[
    // The plain-text answers of `/files`.
    ("not found", "找不到"),
    ("sign in first", "請先登入"),
    ("the link has expired", "連結已過期，請重新取得"),
    ("the link is not valid", "連結無效"),
    ("the file cannot be read", "無法讀取檔案"),
    // Sign-in and tokens.
    (
        "sign in first: this operation needs a valid token",
        "請先登入：此操作需要有效的權杖",
    ),
    (
        "the username or the password is wrong",
        "使用者名稱或密碼錯誤",
    ),
    (
        "too many failed sign-in attempts for this username; try again in {} s",
        "此使用者名稱登入失敗次數過多，請於 {} 秒後再試",
    ),
    (
        "too many requests; try again in {} s",
        "請求過於頻繁，請於 {} 秒後再試",
    ),
    (
        "only a signed-in user's token can be refreshed",
        "只有已登入使用者的權杖可以更新",
    ),
    (
        "a token of the municipal portal is renewed by the portal",
        "市政入口網站的權杖由入口網站更新",
    ),
    (
        "this department account belongs to no department; an administrator must assign one before it can sign in",
        "此部門帳號未隸屬任何部門，須由管理員指定部門後方可登入",
    ),
    (
        "a password must be at least {} characters long",
        "密碼至少須 {} 個字元",
    ),
    (
        "a password may be at most 1024 characters long",
        "密碼最多 1024 個字元",
    ),
    ("the current password is wrong", "目前的密碼錯誤"),
    // The request itself.
    (
        "the item has changed since you read it: reload it (current version {}) and try again",
        "此項目在您讀取後已有變動：請重新載入（目前版本 {}）後再試",
    ),
    ("internal error", "伺服器內部錯誤"),
    (
        "the request body is {} bytes; the limit is {} bytes",
        "請求內容為 {} 位元組，上限為 {} 位元組",
    ),
    (
        "send the request body with a Content-Length",
        "請以 Content-Length 標頭送出請求內容",
    ),
    (
        "1 more error was left out of this answer; correct the ones above and send it again",
        "此回應另略去 1 項錯誤；請更正以上錯誤後重新送出",
    ),
    (
        "{} more errors were left out of this answer; correct the ones above and send it again",
        "此回應另略去 {} 項錯誤；請更正以上錯誤後重新送出",
    ),
    (
        "the request has no Content-Type; send {}",
        "請求沒有 Content-Type；請送出 {}",
    ),
    (
        "a request body of type `{}` cannot be read; send {}",
        "無法讀取類型為 `{}` 的請求內容；請送出 {}",
    ),
    (
        "the request has no `query`: send the GraphQL document as `query`",
        "請求沒有 `query`：請以 `query` 送出 GraphQL 文件",
    ),
    (
        "the request body is empty; send a JSON object with a `query`",
        "請求內容為空；請送出含 `query` 的 JSON 物件",
    ),
    (
        "batched requests (a JSON array of operations) are not supported; send one operation per request",
        "不支援批次請求（操作的 JSON 陣列）；每個請求請只送一項操作",
    ),
    (
        "the request body is not UTF-8 text (the first bad byte is at offset {})",
        "請求內容不是 UTF-8 文字（第一個錯誤位元組位於位移 {}）",
    ),
    (
        "the request body is not a GraphQL request (a JSON object with `query`, `operationName`, `variables`, `extensions`): {}",
        "請求內容不是 GraphQL 請求（含 `query`、`operationName`、`variables`、`extensions` 的 JSON 物件）：{}",
    ),
    (
        "the request body is not valid JSON: {}",
        "請求內容不是有效的 JSON：{}",
    ),
    (
        "the request body ended before its declared length",
        "請求內容在宣告的長度之前即已結束",
    ),
    (
        "the request body cannot be read: {}",
        "無法讀取請求內容：{}",
    ),
    (
        "the query string cannot be read: {}",
        "無法讀取查詢字串：{}",
    ),
    (
        "the multipart request cannot be read: {}",
        "無法讀取 multipart 請求：{}",
    ),
    (
        "the file could not be read from the request",
        "無法從請求中讀取檔案",
    ),
    (
        "mutations must be sent with POST",
        "變更操作（mutation）須以 POST 送出",
    ),
    (
        "send queries and mutations over HTTP: the WebSocket carries subscriptions",
        "查詢與變更請經由 HTTP 送出：WebSocket 僅供訂閱",
    ),
    (
        "the operation took longer than {} and was stopped",
        "操作執行超過 {}，已停止",
    ),
    (
        "the operation nests selections and fragments more than {} levels deep",
        "操作的選取與片段巢狀超過 {} 層",
    ),
    (
        "the operation uses {} directives with its fragments spread in; at most {} are allowed",
        "展開片段後，操作使用了 {} 個指令；最多允許 {} 個",
    ),
    (
        "the operation uses {} aliases; at most {} are allowed",
        "操作使用了 {} 個別名；最多允許 {} 個",
    ),
    (
        "the operation is too complex: it selects {} fields with its fragments spread in; at most {} are allowed",
        "操作過於複雜：展開片段後選取了 {} 個欄位；最多允許 {} 個",
    ),
    (
        "the operation asks for {} root fields; at most {} are allowed",
        "操作要求 {} 個根欄位；最多允許 {} 個",
    ),
    (
        "introspection is switched off on this server: `__schema` and `__type` cannot be asked for",
        "此伺服器已關閉內省：不能查詢 `__schema` 與 `__type`",
    ),
    (
        "the hash is not the SHA-256 of the query",
        "此雜湊值不是該查詢的 SHA-256",
    ),
    (
        "persistedQuery is an object with `version` and `sha256Hash`",
        "persistedQuery 須為含 `version` 與 `sha256Hash` 的物件",
    ),
    (
        "the persisted query protocol has version 1 only",
        "持久化查詢協定只有第 1 版",
    ),
    (
        "sha256Hash is the SHA-256 of the query, 64 hexadecimal digits",
        "sha256Hash 須為該查詢的 SHA-256，64 個十六進位數字",
    ),
    // Ids, pages, arguments.
    ("`{}` is not a valid id", "`{}` 不是有效的 id"),
    (
        "`{}` is the id of a {}, not of a {}",
        "`{}` 是 {} 的 id，不是 {} 的",
    ),
    ("`{}` is not a valid cursor", "`{}` 不是有效的游標"),
    ("`{}` must not be negative", "`{}` 不得為負數"),
    ("`{}` may be at most {}", "`{}` 最多為 {}"),
    (
        "give `first` or `last`, not both: a page is read in one direction",
        "請給 `first` 或 `last`，不要同時給：一頁只朝一個方向讀取",
    ),
    (
        "give exactly one of `id`, `code` and `name`",
        "`id`、`code`、`name` 請恰給其一",
    ),
    (
        "give exactly one of `id` and `code`",
        "`id` 與 `code` 請恰給其一",
    ),
    (
        "name the department by id or by code, not both",
        "請以 id 或代碼指明部門，不要同時給",
    ),
    ("a date is written YYYY-MM-DD", "日期寫作 YYYY-MM-DD"),
    (
        "a date-time is written as RFC 3339, like 2022-05-01T08:30:00Z",
        "日期時間須依 RFC 3339 書寫，例如 2022-05-01T08:30:00Z",
    ),
    (
        "a search may be at most 200 characters long",
        "搜尋字串最多 200 個字元",
    ),
    (
        "the filter names a department that does not exist",
        "篩選條件指定的部門不存在",
    ),
    (
        "`{}` is not a task code: use a number such as `12` or `2.3`",
        "`{}` 不是任務編號：請用如 `12` 或 `2.3` 的編號",
    ),
    ("`{}` must not be empty", "`{}` 不得為空"),
    ("`{}` may be at most {} characters", "`{}` 最多 {} 個字元"),
    (
        "changes of this kind of item are not recorded",
        "此類項目的變動不作記錄",
    ),
    // Not found and not allowed.
    ("there is no plan yet", "尚無任何計畫"),
    ("no plan has this id", "沒有此 id 的計畫"),
    ("no task has this id", "沒有此 id 的任務"),
    ("no indicator has this id", "沒有此 id 的指標"),
    ("no submission has this id", "沒有此 id 的報送項目"),
    ("no user has this id", "沒有此 id 的使用者"),
    ("no notification of yours has this id", "您沒有此 id 的通知"),
    (
        "no webhook delivery has this id",
        "沒有此 id 的 Webhook 傳送紀錄",
    ),
    ("no {} has this id", "沒有此 id 的{}"),
    ("no department is called `{}`", "沒有名為 `{}` 的部門"),
    ("no department has the code `{}`", "沒有代碼為 `{}` 的部門"),
    ("no user is called `{}`", "沒有名為 `{}` 的使用者"),
    ("the department does not exist", "該部門不存在"),
    ("the submission is gone", "該報送項目已不存在"),
    (
        "only an administrator may do this",
        "只有管理員可以執行此操作",
    ),
    (
        "only the leadership group's office may do this",
        "只有領導小組辦公室可以執行此操作",
    ),
    (
        "only the leadership group's office reviews submissions; a department cannot approve its own",
        "報送項目只由領導小組辦公室審核；部門不能核准自己的報送",
    ),
    (
        "only an administrator or the leadership group's office may correct or publish a plan",
        "只有管理員或領導小組辦公室可以修正或發布計畫",
    ),
    (
        "the dashboard is for the leadership group and the departments",
        "儀表板僅供領導小組與各部門使用",
    ),
    (
        "notifications are for the departments and the leadership group",
        "通知僅供各部門與領導小組使用",
    ),
    (
        "the work ledger holds internal records: it is for the leadership group and the departments",
        "工作台賬含內部紀錄：僅供領導小組與各部門使用",
    ),
    (
        "only an externally set target (EXTERNAL) takes a value from the leadership group",
        "只有外部設定的目標（EXTERNAL）由領導小組填入數值",
    ),
    // Reports, values and their review.
    (
        "your department already has a report on task {} for {}: change that one",
        "貴部門已有任務 {} 於 {} 的進度報告：請修改該份",
    ),
    (
        "a value of this indicator for {} already exists: change that one",
        "此指標 {} 的數值已存在：請修改該筆",
    ),
    (
        "a draft of this kind is there already: change that one",
        "已有同類草稿：請修改該份",
    ),
    (
        "task {} is reported through its parts ({}.1, …): report on the part your department leads",
        "任務 {} 依其分項（{}.1 等）報告：請就貴部門牽頭的分項報告",
    ),
    (
        "{} takes values from {} to {}{}; {} is outside that range",
        "{0} 的數值範圍為 {1} 至 {2}{3}；{4} 超出此範圍",
    ),
    ("`value` must be a finite number", "`value` 須為有限數值"),
    (
        "this indicator's target is stated in words: say whether it is achieved (`achieved`) and how (`text`)",
        "此指標的目標以文字陳述：請說明是否達成（`achieved`）及其情形（`text`）",
    ),
    (
        "this indicator needs a number in `value`",
        "此指標須在 `value` 填入數值",
    ),
    ("a reason is required", "須填寫理由"),
    (
        "a reason may be at most 2000 characters",
        "理由最多 2000 個字元",
    ),
    (
        "give the version you read to change an item",
        "修改項目時請給出您讀取的版本",
    ),
    (
        "only a draft or a rejected item can be submitted; this one is {}",
        "只有草稿或退回的項目可以送審；此項目為 {}",
    ),
    (
        "only a submitted item can be approved; this one is {}",
        "只有已送審的項目可以核准；此項目為 {}",
    ),
    (
        "only a submitted item can be rejected; this one is {}",
        "只有已送審的項目可以退回；此項目為 {}",
    ),
    (
        "only an approved item can be reopened; this one is {}",
        "只有已核准的項目可以重新開啟；此項目為 {}",
    ),
    (
        "only {} can be {}; this one is {}",
        "只有{}可以{}；此項目為 {}",
    ),
    (
        "this item is {} and locked: only a draft or a rejected item can be changed",
        "此項目為 {}，已鎖定：只有草稿或退回的項目可以修改",
    ),
    (
        "a {} is not a submission: give the id of a progress report, indicator value or evidence",
        "{} 不是報送項目：請給進度報告、指標數值或佐證材料的 id",
    ),
    (
        "the progress report on {} for {} is due by {} and not yet submitted",
        "{} 於 {} 的進度報告應於 {} 前報送，尚未報送",
    ),
    (
        "the value of {} for {} is due by {} and not yet submitted",
        "{} 於 {} 的數值應於 {} 前報送，尚未報送",
    ),
    ("{} is red for {}: {}", "{} 於 {} 為紅燈：{}"),
    // Periods.
    (
        "`{}` is not a reporting period of this plan: write it like `{}`",
        "`{}` 不是本計畫的報告期：請寫作如 `{}`",
    ),
    (
        "the period {} lies outside the plan's reporting years ({}–{})",
        "報告期 {} 不在計畫的報告年度內（{}–{}）",
    ),
    (
        "the period {} is closed: nothing in it can change until the leadership group reopens it",
        "報告期 {} 已關閉：領導小組重新開放前，其中任何內容都不能修改",
    ),
    ("the period {} is already {}", "報告期 {} 已是{}"),
    (
        "say why the period is reopened",
        "請說明重新開放報告期的理由",
    ),
    (
        "a due date cannot lie before the plan's year",
        "完成期限不能早於計畫年度",
    ),
    (
        "the year must lie within the plan's reporting years ({}–{})",
        "年度須在計畫的報告年度內（{}–{}）",
    ),
    // Evidence files.
    ("the file needs a name", "檔案須有名稱"),
    ("the file is empty", "檔案為空"),
    (
        "the file is {} bytes; the limit is {} bytes",
        "檔案為 {} 位元組，上限為 {} 位元組",
    ),
    (
        "the file's type cannot be recognised from its contents",
        "無法從檔案內容辨識其類型",
    ),
    (
        "files of type {} are not accepted as evidence",
        "不接受 {} 類型的檔案作為佐證材料",
    ),
    (
        "files named .{} are not accepted as evidence: a browser would run them",
        "不接受副檔名為 .{} 的檔案作為佐證材料：瀏覽器會執行它",
    ),
    (
        "the file is named .{} but its contents are {}",
        "檔案副檔名為 .{}，但內容是 {}",
    ),
    (
        "the file is named .{} but is not an Office document: it lacks [Content_Types].xml or {}",
        "檔案副檔名為 .{}，但不是 Office 文件：缺少 [Content_Types].xml 或 {}",
    ),
    (
        "the file is an archive that cannot be read",
        "檔案是無法讀取的壓縮檔",
    ),
    (
        "the archive has more than {} entries",
        "壓縮檔內超過 {} 個項目",
    ),
    (
        "the archive unpacks to more than {} bytes",
        "壓縮檔解壓後超過 {} 位元組",
    ),
    (
        "the progress report is about another task",
        "該進度報告屬於另一項任務",
    ),
    (
        "the indicator value is not of an indicator of this task",
        "該指標數值不屬於此任務的指標",
    ),
    ("the id is not evidence", "此 id 不是佐證材料"),
    ("a title is 1 to 500 characters", "標題須為 1 至 500 個字元"),
    ("{} is 1 to 500 characters", "{} 須為 1 至 500 個字元"),
    // Spreadsheets.
    ("dryRun is true or false", "dryRun 須為 true 或 false"),
    ("paper is A4 or A3", "紙張為 A4 或 A3"),
    ("the workbook is larger than {} MiB", "活頁簿超過 {} MiB"),
    ("the body could not be read", "無法讀取請求內容"),
    (
        "send the filled-in workbook (.xlsx) as the request body",
        "請以填妥的活頁簿（.xlsx）作為請求內容送出",
    ),
    (
        "the body is not an Excel workbook (.xlsx): send the file exported from /export/plan.xlsx, filled in",
        "請求內容不是 Excel 活頁簿（.xlsx）：請送出由 /export/plan.xlsx 匯出並填妥的檔案",
    ),
    (
        "the workbook unpacks to more than 100 MiB: that is not a filled-in ledger",
        "活頁簿解壓後超過 100 MiB：這不是填妥的台賬",
    ),
    (
        "the workbook has no sheet named {}: fill in that sheet of the exported ledger",
        "活頁簿沒有名為 {} 的工作表：請填寫匯出台賬中的該工作表",
    ),
    ("the {} sheet is empty", "{} 工作表為空"),
    ("the {} sheet has more than {} rows", "{} 工作表超過 {} 列"),
    (
        "the header row of the {} sheet (within its first {} rows) must hold the exported headers: at least {}, and {} (or {} and {})",
        "{} 工作表的標題列（位於前 {} 列內）須含匯出時的標題：至少有 {}，以及 {}（或 {} 與 {}）",
    ),
    (
        "no row of the {} sheet is filled in: give at least {} and {} (or {})",
        "{} 工作表沒有任何已填寫的列：至少請填 {} 與 {}（或 {}）",
    ),
    // Plans and their documents.
    ("the document has no numbered tasks", "文件中沒有編號的任務"),
    ("the document is empty", "文件為空"),
    ("the document is larger than {} bytes", "文件超過 {} 位元組"),
    ("the document must be UTF-8 text", "文件須為 UTF-8 文字"),
    (
        "a plan key is 1 to 64 lower-case letters, digits and hyphens, e.g. `tangshan-2023`",
        "計畫代碼為 1 至 64 個小寫字母、數字與連字號，例如 `tangshan-2023`",
    ),
    (
        "the year must be between 2000 and 2100",
        "年度須介於 2000 與 2100 之間",
    ),
    (
        "a plan with the key `{}` exists already",
        "代碼為 `{}` 的計畫已存在",
    ),
    ("this plan is published already", "此計畫已發布"),
    (
        "only a draft plan is corrected this way; this plan is published",
        "只有草稿計畫能以此方式修正；此計畫已發布",
    ),
    ("a title is 1 to 200 characters", "標題須為 1 至 200 個字元"),
    (
        "a task needs at least one lead department",
        "任務至少須有一個牽頭部門",
    ),
    (
        "a value goes with AT_LEAST, AT_MOST and EQUAL, and only with them",
        "數值只用於 AT_LEAST、AT_MOST 與 EQUAL",
    ),
    (
        "this target has no number; give its kind with the value",
        "此目標沒有數值；請連同數值給出其類型",
    ),
    ("the plan file is not valid: {}", "計畫檔案無效：{}"),
    ("plan file: {}", "計畫檔案：{}"),
    ("`issued_on` must be a date", "`issued_on` 須為日期"),
    (
        "`issued_on` is not a calendar date",
        "`issued_on` 不是有效的日期",
    ),
    ("indicator `{}`: unknown kind", "指標 `{}`：未知的類型"),
    ("unknown department `{}`", "未知的部門 `{}`"),
    // Rows of an imported workbook.
    ("may be at most {} characters", "最多 {} 個字元"),
    (
        "no indicator of this plan has this id",
        "本計畫沒有此 id 的指標",
    ),
    ("not a number", "不是數字"),
    (
        "not an indicator id: keep the exported one",
        "不是指標 id：請保留匯出時的 id",
    ),
    (
        "row {} already gives this indicator's value for {}",
        "第 {} 列已填寫此指標 {} 的數值",
    ),
    (
        "say which indicator: keep the exported {} (or give {} and {})",
        "請指明指標：保留匯出時的 {}（或填寫 {} 與 {}）",
    ),
    (
        "task {} has no indicator named {}",
        "任務 {} 沒有名為 {} 的指標",
    ),
    (
        "the period is required, e.g. 2022-Q2",
        "須填寫報告期，例如 2022-Q2",
    ),
    (
        "the value for {} is {} and locked: only a draft or a rejected value can be changed",
        "{} 的數值為 {}，已鎖定：只有草稿或退回的數值可以修改",
    ),
    ("this indicator needs a number", "此指標須填數字"),
    (
        "this indicator's target is stated in words: write 是 or 否",
        "此指標的目標以文字陳述：請填「是」或「否」",
    ),
    (
        "write the period as text, e.g. 2022-Q2",
        "報告期請以文字填寫，例如 2022-Q2",
    ),
    ("write 是 or 否", "請填「是」或「否」"),
    (
        "your department is not responsible for this indicator",
        "貴部門不負責此指標",
    ),
    ("{} is not text", "{} 不是文字"),
    // People.
    (
        "a username is 2 to 64 characters: lower-case letters, digits, `.`, `_` or `-`",
        "使用者名稱為 2 至 64 個字元：小寫字母、數字、`.`、`_` 或 `-`",
    ),
    (
        "a display name is 1 to 100 characters",
        "顯示名稱為 1 至 100 個字元",
    ),
    ("a department name must not be empty", "部門名稱不得為空"),
    (
        "a department user needs a department",
        "部門使用者須隸屬一個部門",
    ),
    (
        "only department users belong to a department",
        "只有部門使用者隸屬部門",
    ),
    ("you cannot change your own role", "您不能變更自己的角色"),
    ("you cannot deactivate yourself", "您不能停用自己"),
    ("the username `{}` is taken", "使用者名稱 `{}` 已被使用"),
    // The GraphQL parser's: the place in the document as it points to it, then what it
    // expected there, named as the grammar names it.
    (
        "{}= unexpected {}; expected {}",
        "GraphQL 文件有語法錯誤：\n{0}= 此處不應為 {1}，應為 {2}",
    ),
    (
        "{}= unexpected {}",
        "GraphQL 文件有語法錯誤：\n{0}= 此處不應為 {1}",
    ),
    (
        "{}= expected {}",
        "GraphQL 文件有語法錯誤：\n{0}= 此處應為 {1}",
    ),
    (
        "document does not contain an operation",
        "GraphQL 文件沒有任何操作",
    ),
    (
        "document contains multiple operations",
        "GraphQL 文件含有多項操作",
    ),
    ("operation {} is defined twice", "操作 {} 定義了兩次"),
    ("fragment {} is defined twice", "片段 {} 定義了兩次"),
    (
        "recursion limit exceeded.",
        "GraphQL 文件的巢狀層數超過上限。",
    ),
    // The GraphQL validator's messages (async-graphql's validation rules), for the
    // developers of clients; "Did you mean" lists the names as they are.
    (
        "Unknown field \"{}\" on type \"{}\". Did you mean {}?",
        "類型「{1}」沒有欄位「{0}」。是否要寫 {2}？",
    ),
    (
        "Unknown field \"{}\" on type \"{}\".",
        "類型「{1}」沒有欄位「{0}」。",
    ),
    (
        "Unknown argument \"{}\" on field \"{}\" of type \"{}\". Did you mean {}?",
        "類型「{2}」的欄位「{1}」沒有參數「{0}」。是否要寫 {3}？",
    ),
    (
        "Unknown argument \"{}\" on field \"{}\" of type \"{}\".",
        "類型「{2}」的欄位「{1}」沒有參數「{0}」。",
    ),
    (
        "Unknown argument \"{}\" on directive \"{}\". Did you mean {}?",
        "指令「{1}」沒有參數「{0}」。是否要寫 {2}？",
    ),
    (
        "Unknown argument \"{}\" on directive \"{}\".",
        "指令「{1}」沒有參數「{0}」。",
    ),
    (
        "Field \"{}\" argument \"{}\" of type \"{}\" is required but not provided",
        "欄位「{0}」缺少必填的參數「{1}」（類型「{2}」）",
    ),
    (
        "Directive \"@{}\" argument \"{}\" of type \"{}\" is required but not provided",
        "指令「@{0}」缺少必填的參數「{1}」（類型「{2}」）",
    ),
    (
        "Field \"{}\" must not have a selection since type \"{}\" has no subfields",
        "欄位「{0}」的類型「{1}」沒有子欄位，不可選取子欄位",
    ),
    (
        "Field \"{}\" of type \"{}\" must have a selection of subfields",
        "欄位「{0}」的類型為「{1}」，須選取其子欄位",
    ),
    (
        "Variable \"${}\" is not defined by operation \"{}\"",
        "操作「{1}」未定義變數「${0}」",
    ),
    ("Variable \"${}\" is not defined", "未定義變數「${}」"),
    (
        "Variable \"${}\" is not used by operation \"{}\"",
        "操作「{1}」未使用變數「${0}」",
    ),
    ("Variable \"${}\" is not used", "未使用變數「${}」"),
    (
        "Variable \"{}\" of type \"{}\" used in position expecting type \"{}\"",
        "變數「{0}」的類型「{1}」不符此處所需的類型「{2}」",
    ),
    (
        "Variable \"{}\" cannot be of non-input type \"{}\"",
        "變數「{0}」的類型「{1}」不是輸入類型",
    ),
    (
        "There can only be one variable named \"${}\"",
        "變數「${}」只能定義一次",
    ),
    (
        "There can only be one argument named \"{}\"",
        "參數「{}」只能給一次",
    ),
    ("Invalid value for argument {}", "參數的值無效：{}"),
    (
        "Invalid default value for argument: {}",
        "參數的預設值無效：{}",
    ),
    ("\"{}\", expected type \"{}\"", "「{0}」應為類型「{1}」"),
    (
        "\"{}\", enumeration type \"{}\" does not contain the value \"{}\"",
        "「{0}」：列舉類型「{1}」沒有值「{2}」",
    ),
    (
        "\"{}\", field \"{}\" of type \"{}\" is required but not provided",
        "「{0}」：缺少類型「{2}」的必填欄位「{1}」",
    ),
    (
        "\"{}\", unknown field \"{}\" of type \"{}\"",
        "「{0}」：類型「{2}」沒有欄位「{1}」",
    ),
    (
        "\"{}\", Oneof Input Objects require that exactly one field must be supplied and that field must not be null",
        "「{}」：此輸入須恰好給一個欄位，且其值不可為 null",
    ),
    ("Unknown type \"{}\"", "未知的類型「{}」"),
    ("Unknown fragment: \"{}\"", "未知的片段「{}」"),
    ("Fragment \"{}\" is never used", "片段「{}」未被使用"),
    ("Unknown directive \"{}\"", "未知的指令「{}」"),
    ("Duplicate directive \"{}\"", "指令「{}」重複"),
    (
        "Fragment \"{}\" cannot be spread here as objects of type \"{}\" can never be of type \"{}\"",
        "片段「{0}」不能用在此處：類型「{1}」的物件不可能是類型「{2}」",
    ),
    (
        "Fields \"{}\" conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional.",
        "欄位「{}」的參數不同而衝突：如要兩者都取，請為欄位取不同的別名。",
    ),
    (
        "Fields \"{}\" conflict because \"{}\" and \"{}\" are different fields. Use different aliases on the fields to fetch both if this was intentional.",
        "欄位「{0}」衝突：「{1}」與「{2}」是不同的欄位；如要兩者都取，請為欄位取不同的別名。",
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_accept_language() {
        use Language::*;
        for (header, expected) in [
            (None, TraditionalChinese),
            (Some(""), TraditionalChinese),
            (Some("zh-TW"), TraditionalChinese),
            (Some("zh-Hant-HK"), TraditionalChinese),
            (Some("zh"), TraditionalChinese),
            (Some("zh-CN"), SimplifiedChinese),
            (Some("zh-Hans"), SimplifiedChinese),
            (Some("zh-hans-cn,zh;q=0.8"), SimplifiedChinese),
            (Some("en"), English),
            (Some("en-US,en;q=0.9"), English),
            (Some("fr-FR,en;q=0.5"), English),
            (Some("en;q=0.4,zh-CN;q=0.8"), SimplifiedChinese),
            (Some("de"), TraditionalChinese),
            (Some("zh-CN;q=0,en"), English),
        ] {
            assert_eq!(
                Language::from_accept_language(header),
                expected,
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_message_keeps_its_varying_parts_in_every_language() {
        let english = "`2022-Q9` is not a reporting period of this plan: write it like `2022-Q2`";
        assert_eq!(translate(english, Language::English), english);
        assert_eq!(
            translate(english, Language::TraditionalChinese),
            "`2022-Q9` 不是本計畫的報告期：請寫作如 `2022-Q2`"
        );
        assert_eq!(
            translate(english, Language::SimplifiedChinese),
            "`2022-Q9` 不是本计划的报告期：请写作如 `2022-Q2`"
        );
        // Parts may change places.
        assert_eq!(
            translate(
                "林草覆蓋率 takes values from 0 to 100 %; 120 is outside that range",
                Language::TraditionalChinese
            ),
            "林草覆蓋率 的數值範圍為 0 至 100 %；120 超出此範圍"
        );
        // A message within a message is translated too.
        assert_eq!(
            translate(
                "plan file: unknown department `x`",
                Language::TraditionalChinese
            ),
            "計畫檔案：未知的部門 `x`"
        );
        // The validator's, with or without a suggestion, and its reasons within.
        assert_eq!(
            translate(
                "Unknown field \"taks\" on type \"Query\". Did you mean \"task\", \"tasks\"?",
                Language::TraditionalChinese
            ),
            "類型「Query」沒有欄位「taks」。是否要寫 \"task\", \"tasks\"？"
        );
        assert_eq!(
            translate(
                "Unknown field \"x\" on type \"Query\".",
                Language::SimplifiedChinese
            ),
            "类型「Query」没有栏位「x」。"
        );
        assert_eq!(
            translate(
                "Invalid value for argument \"first\", expected type \"Int\"",
                Language::TraditionalChinese
            ),
            "參數的值無效：「first」應為類型「Int」"
        );
        // The parser's, with the place it points to kept.
        let pointed =
            " --> 1:10\n  |\n1 | { plans {\n  |          ^---\n  |\n  = expected selection";
        assert_eq!(
            translate(pointed, Language::TraditionalChinese),
            "GraphQL 文件有語法錯誤：\n --> 1:10\n  |\n1 | { plans {\n  |          ^---\n  |\n  = 此處應為 selection"
        );
        // One the catalog does not know stays as it is.
        let unknown = "expected selection_set";
        assert_eq!(translate(unknown, Language::TraditionalChinese), unknown);
    }

    #[test]
    fn every_template_compiles_and_fills() {
        assert_eq!(entries().len(), CATALOG.len());
        for (english, traditional) in CATALOG {
            let holes = english.matches("{}").count();
            let example = english.replace("{}", "☃");
            let translated = translate(&example, Language::TraditionalChinese);
            assert!(!translated.contains("{}"), "{english} → {translated}");
            assert_eq!(
                translated.matches('☃').count(),
                holes,
                "{english} → {traditional}"
            );
        }
    }

    /// Every message the server words (a string given to an error in `src/`) is in the
    /// catalog, so none reaches a reader in English by oversight.
    #[test]
    fn every_message_in_the_source_is_in_the_catalog() {
        let constructors = Regex::new(
            r#"(?s)(?:AppError::(?:bad_input|not_found|forbidden)|MalformedRequest|UnsupportedMediaType|MethodNotAllowed|Timeout|InputValueError::custom|refused|message:)\(?\s*(?:format!\(\s*)?"((?:[^"\\]|\\.)*)""#,
        )
        .unwrap();
        let field = Regex::new(
            r#"(?s)AppError::bad_field\(\s*(?:"[^"]*"|[a-z_.()&]+),\s*(?:format!\(\s*)?"((?:[^"\\]|\\.)*)""#,
        )
        .unwrap();
        let placeholder = Regex::new(r"\{[a-zA-Z_0-9:?.]*\}").unwrap();
        // A string continued on the next line: `\` and the line break and indent vanish.
        let continuation = Regex::new(r"\\\n\s*").unwrap();
        let mut missing = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut folders = vec![root];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                // An imported document's review notes are the office's data, not errors.
                if path.extension().is_none_or(|extension| extension != "rs")
                    || path.file_name().is_some_and(|name| name == "tests.rs")
                    || path
                        .parent()
                        .is_some_and(|parent| parent.ends_with("plan_document"))
                {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap();
                let source = source.split("#[cfg(test)]").next().unwrap_or_default();
                for found in constructors
                    .captures_iter(source)
                    .chain(field.captures_iter(source))
                {
                    let text = continuation
                        .replace_all(&found[1], "")
                        .replace("\\\"", "\"")
                        .replace("{{", "{")
                        .replace("}}", "}");
                    let template = placeholder.replace_all(&text, "X");
                    if !is_translated(&template) {
                        missing.push(format!("{}: {text}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "not in the catalog: {missing:#?}");
    }
}

//! One spelling to match against: a document may be in Traditional or Simplified
//! characters and mix full-width and ASCII punctuation. The patterns are written once, in
//! Simplified characters and ASCII punctuation, and run over the canonical form; what goes
//! into the plan is always cut from the text as written.

use std::ops::Range;

/// A piece of the document as written, with its canonical form. Both have the same
/// number of characters, so a match in one is a match at the same place in the other.
#[derive(Clone, Debug)]
pub struct Passage<'a> {
    pub written: &'a str,
    pub canon: String,
}

impl<'a> Passage<'a> {
    pub fn new(written: &'a str) -> Self {
        Passage {
            written,
            canon: canonical(written),
        }
    }

    /// The text as written behind a byte range of the canonical form.
    pub fn written_at(&self, range: Range<usize>) -> &'a str {
        let start = self.canon[..range.start].chars().count();
        let length = self.canon[range.start..range.end].chars().count();
        let from = byte_of_char(self.written, start);
        let to = byte_of_char(self.written, start + length);
        &self.written[from..to]
    }

    /// The part of the passage behind a byte range of the canonical form.
    pub fn sub(&self, range: Range<usize>) -> Passage<'a> {
        Passage {
            written: self.written_at(range.clone()),
            canon: self.canon[range].to_owned(),
        }
    }

    /// The passage without white space at either end.
    pub fn trimmed(&self) -> Passage<'a> {
        let start = self.canon.len() - self.canon.trim_start().len();
        let end = self.canon.trim_end().len().max(start);
        self.sub(start..end)
    }

    pub fn is_empty(&self) -> bool {
        self.canon.is_empty()
    }
}

fn byte_of_char(text: &str, index: usize) -> usize {
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(byte, _)| byte)
}

/// Simplified characters, ASCII punctuation for the full-width forms, one character for
/// each character of `text`.
pub fn canonical(text: &str) -> String {
    let half_width: String = text
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            other => other,
        })
        .collect();
    let converted = fast2s::convert(&half_width);
    // The converter maps character to character; should it ever not, fall back to the
    // half-width text (Traditional patterns then simply do not match).
    if converted.chars().count() == half_width.chars().count() {
        converted
    } else {
        half_width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_keeps_one_character_for_each() {
        let passage = Passage::new("(牽頭單位:市住建局)");
        assert_eq!(passage.canon, "(牵头单位:市住建局)");
        let start = passage.canon.find("市").unwrap_or_default();
        assert_eq!(
            passage.written_at(start..passage.canon.len() - 1),
            "市住建局"
        );
    }

    #[test]
    fn trimming_keeps_the_written_text_aligned() {
        let passage = Passage::new("  不低於55 ");
        assert_eq!(passage.trimmed().written, "不低於55");
    }
}

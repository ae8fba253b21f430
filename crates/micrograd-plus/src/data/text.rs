//! Character-level tokenization and the text corpora of the language demos.
//!
//! [`CharTokenizer`] maps each distinct character of a training text to an
//! id, in sorted order so the vocabulary is the same on every run and
//! every machine (tiny Shakespeare gives 65 ids: `\n`, space, punctuation,
//! digits, then letters). It travels with a model as checkpoint metadata.

use crate::{Error, Result};
use std::collections::HashMap;

/// Metadata key under which a tokenizer is stored in a checkpoint.
pub const METADATA_KEY: &str = "tokenizer.chars";
/// Metadata key of the unknown token, if there is one.
pub const METADATA_UNK_KEY: &str = "tokenizer.unknown";

/// Characters ↔ ids, with an optional unknown token.
///
/// ```
/// use micrograd_plus::data::text::CharTokenizer;
/// let tok = CharTokenizer::from_text("hello world");
/// assert_eq!(tok.vocab_size(), 8); // ' ', d, e, h, l, o, r, w
/// let ids = tok.encode("hold").unwrap();
/// assert_eq!(ids, vec![3, 5, 4, 1]);
/// assert_eq!(tok.decode(&ids).unwrap(), "hold");
/// let err = tok.encode("help!").unwrap_err().to_string();
/// assert_eq!(err, "CharTokenizer: character 'p' (U+0070) at position 3 is not in the vocabulary of 8 characters");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CharTokenizer {
    chars: Vec<char>,
    index: HashMap<char, usize>,
    unknown: Option<usize>,
}

impl CharTokenizer {
    /// The sorted set of distinct characters of `text`.
    ///
    /// ```
    /// let tok = micrograd_plus::data::text::CharTokenizer::from_text("cabbage");
    /// assert_eq!(tok.chars(), &['a', 'b', 'c', 'e', 'g']);
    /// ```
    pub fn from_text(text: &str) -> CharTokenizer {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        CharTokenizer::from_chars(chars, None).expect("distinct characters")
    }

    /// A tokenizer with exactly these characters (ids in the given order),
    /// and optionally the id of the unknown token.
    ///
    /// ```
    /// use micrograd_plus::data::text::CharTokenizer;
    /// assert!(CharTokenizer::from_chars(vec!['a', 'a'], None).is_err());
    /// assert!(CharTokenizer::from_chars(vec!['a'], Some(1)).is_err());
    /// ```
    pub fn from_chars(chars: Vec<char>, unknown: Option<usize>) -> Result<CharTokenizer> {
        let mut index = HashMap::with_capacity(chars.len());
        for (i, &c) in chars.iter().enumerate() {
            if index.insert(c, i).is_some() {
                return Err(Error::argument(
                    "CharTokenizer",
                    format!("character {c:?} appears twice in the vocabulary"),
                ));
            }
        }
        if let Some(u) = unknown.filter(|&u| u >= chars.len()) {
            return Err(Error::argument(
                "CharTokenizer",
                format!(
                    "unknown token id {u} is outside the vocabulary of {}",
                    chars.len()
                ),
            ));
        }
        Ok(CharTokenizer {
            chars,
            index,
            unknown,
        })
    }

    /// Adds `token` (if new, at the end) as the id that characters outside
    /// the vocabulary map to, instead of being an error.
    ///
    /// ```
    /// use micrograd_plus::data::text::CharTokenizer;
    /// let tok = CharTokenizer::from_text("ab").with_unknown('?');
    /// assert_eq!(tok.encode("abc").unwrap(), vec![0, 1, 2]);
    /// assert_eq!(tok.decode(&[2]).unwrap(), "?");
    /// ```
    pub fn with_unknown(mut self, token: char) -> CharTokenizer {
        let id = match self.index.get(&token) {
            Some(&id) => id,
            None => {
                self.chars.push(token);
                self.index.insert(token, self.chars.len() - 1);
                self.chars.len() - 1
            }
        };
        self.unknown = Some(id);
        self
    }

    /// Number of ids.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::data::text::CharTokenizer::from_text("aab").vocab_size(), 2);
    /// ```
    pub fn vocab_size(&self) -> usize {
        self.chars.len()
    }

    /// The characters, by id.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::data::text::CharTokenizer::from_text("ba").chars(), &['a', 'b']);
    /// ```
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id characters outside the vocabulary map to, if any.
    ///
    /// ```
    /// assert_eq!(micrograd_plus::data::text::CharTokenizer::from_text("a").unknown(), None);
    /// ```
    pub fn unknown(&self) -> Option<usize> {
        self.unknown
    }

    /// The ids of `text`; a character outside the vocabulary is an error
    /// naming it, unless there is an unknown token.
    ///
    /// ```
    /// let tok = micrograd_plus::data::text::CharTokenizer::from_text("ab\n");
    /// assert_eq!(tok.encode("b\na").unwrap(), vec![2, 0, 1]);
    /// ```
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(pos, c)| match (self.index.get(&c), self.unknown) {
                (Some(&id), _) => Ok(id),
                (None, Some(u)) => Ok(u),
                (None, None) => Err(Error::argument(
                    "CharTokenizer",
                    format!(
                        "character {c:?} (U+{:04X}) at position {pos} is not in the vocabulary of {} characters",
                        c as u32,
                        self.chars.len()
                    ),
                )),
            })
            .collect()
    }

    /// The text of `ids`; an id outside the vocabulary is an error.
    ///
    /// ```
    /// let tok = micrograd_plus::data::text::CharTokenizer::from_text("ab");
    /// assert_eq!(tok.decode(&[5]).unwrap_err().to_string(), "CharTokenizer: id 5 is outside the vocabulary of 2 characters");
    /// ```
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .map(|&i| {
                self.chars.get(i).copied().ok_or_else(|| {
                    Error::argument(
                        "CharTokenizer",
                        format!(
                            "id {i} is outside the vocabulary of {} characters",
                            self.chars.len()
                        ),
                    )
                })
            })
            .collect()
    }

    /// The tokenizer as checkpoint metadata (the characters as a JSON string).
    ///
    /// ```
    /// use micrograd_plus::data::text::CharTokenizer;
    /// let tok = CharTokenizer::from_text("hi\n").with_unknown('?');
    /// assert_eq!(CharTokenizer::from_metadata(&tok.to_metadata()).unwrap(), tok);
    /// ```
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let s: String = self.chars.iter().collect();
        let mut meta = HashMap::from([(
            METADATA_KEY.to_string(),
            serde_json::to_string(&s).unwrap_or_default(),
        )]);
        if let Some(u) = self.unknown {
            meta.insert(METADATA_UNK_KEY.to_string(), u.to_string());
        }
        meta
    }

    /// Reads a tokenizer stored by [`CharTokenizer::to_metadata`].
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let err = micrograd_plus::data::text::CharTokenizer::from_metadata(&HashMap::new()).unwrap_err();
    /// assert_eq!(err.to_string(), "CharTokenizer: no \"tokenizer.chars\" entry in the metadata");
    /// ```
    pub fn from_metadata(meta: &HashMap<String, String>) -> Result<CharTokenizer> {
        let err = |m: String| Error::argument("CharTokenizer", m);
        let raw = meta
            .get(METADATA_KEY)
            .ok_or_else(|| err(format!("no {METADATA_KEY:?} entry in the metadata")))?;
        let s: String = serde_json::from_str(raw)
            .map_err(|e| err(format!("cannot parse {METADATA_KEY}: {e}")))?;
        let unknown = match meta.get(METADATA_UNK_KEY) {
            Some(u) => Some(
                u.parse::<usize>()
                    .map_err(|e| err(format!("cannot parse {METADATA_UNK_KEY} {u:?}: {e}")))?,
            ),
            None => None,
        };
        CharTokenizer::from_chars(s.chars().collect(), unknown)
    }
}

/// Reads a UTF-8 text file, with an error naming the file.
///
/// ```
/// let err = micrograd_plus::data::text::read_text(std::path::Path::new("/nonexistent.txt")).unwrap_err();
/// assert!(err.to_string().starts_with("/nonexistent.txt: cannot read"));
/// ```
pub fn read_text(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        msg: format!("cannot read: {e}"),
    })
}

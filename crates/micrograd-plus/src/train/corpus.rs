//! The GPT recipes' corpora: which text `gpt-shakespeare` and
//! `gpt-tinytalks` train on (compiled into the library, so the default runs
//! need no file), the prompt of their sample, and their presets
//! ([`super::gpt::TrainConfig::shakespeare`], [`super::gpt::TrainConfig::tinytalks`]).

use super::gpt::{TextData, TrainConfig};
use crate::data::embedded;
use crate::data::text::read_text;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which corpus and model a GPT recipe uses.
///
/// ```
/// use micrograd_plus::train::corpus::Corpus;
/// let tiny = Corpus::of_recipe(Some("gpt-tinytalks"));
/// assert_eq!(tiny.name(), "gpt-tinytalks");
/// assert_eq!(tiny.preset(40), micrograd_plus::train::gpt::TrainConfig::tinytalks(40));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corpus {
    /// Tiny Shakespeare, the milestone-5 recipe.
    Shakespeare,
    /// TinyTalks Q&A (CC BY 4.0), a smaller model.
    TinyTalks,
}

impl Corpus {
    /// The corpus of a GPT recipe (tiny Shakespeare unless it is
    /// `gpt-tinytalks`, also when the recipe is unknown).
    pub fn of_recipe(recipe: Option<&str>) -> Corpus {
        match recipe {
            Some(r) if r == Corpus::TinyTalks.name() => Corpus::TinyTalks,
            _ => Corpus::Shakespeare,
        }
    }

    /// The recipe's name (`mgp train NAME`, and the run folder's prefix).
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Shakespeare => "gpt-shakespeare",
            Corpus::TinyTalks => "gpt-tinytalks",
        }
    }

    /// The prompt of the sample printed after training.
    pub fn prompt(self) -> &'static str {
        match self {
            Corpus::Shakespeare => "ROMEO:",
            Corpus::TinyTalks => "Q: ",
        }
    }

    /// The corpus compiled into the library: its file in the repository's
    /// `data/` (its name in messages and `config.json`) and its text.
    pub fn embedded(self) -> (&'static str, &'static str) {
        match self {
            Corpus::Shakespeare => ("tinyshakespeare/input.txt", embedded::TINY_SHAKESPEARE),
            Corpus::TinyTalks => ("tinytalks/tinytalks_v1.txt", embedded::TINY_TALKS),
        }
    }

    /// The recipe's settings for a text of `vocab` distinct characters.
    pub fn preset(self, vocab: usize) -> TrainConfig {
        match self {
            Corpus::Shakespeare => TrainConfig::shakespeare(vocab),
            Corpus::TinyTalks => TrainConfig::tinytalks(vocab),
        }
    }
}

/// Where a GPT run's text comes from: a file (kept as an absolute path, so
/// a resumed run finds it from any directory), or a corpus compiled into
/// the library (`"data": {"embedded": "..."}` in `config.json`).
///
/// ```
/// use micrograd_plus::train::corpus::{Corpus, TextSource};
/// let source = TextSource::new(None, Corpus::TinyTalks).unwrap();
/// assert_eq!(source.to_string(), "tinytalks/tinytalks_v1.txt (built into mgp)");
/// let (text, data) = source.load().unwrap();
/// assert_eq!(data.train.len() + data.val.len(), text.chars().count());
/// ```
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(untagged)]
pub enum TextSource {
    /// A text file.
    File(PathBuf),
    /// A corpus compiled into the library, by its [`Corpus::embedded`] name.
    Embedded {
        /// The corpus's name.
        embedded: String,
    },
}

impl TextSource {
    /// `data` if given, else `corpus`'s embedded text.
    pub fn new(data: Option<&Path>, corpus: Corpus) -> Result<TextSource> {
        Ok(match data {
            Some(path) => TextSource::File(std::path::absolute(path).map_err(|e| Error::File {
                path: path.display().to_string(),
                msg: format!("cannot resolve: {e}"),
            })?),
            None => TextSource::Embedded {
                embedded: corpus.embedded().0.to_string(),
            },
        })
    }

    /// The text.
    pub fn read(&self) -> Result<String> {
        match self {
            TextSource::File(path) => read_text(path),
            TextSource::Embedded { embedded: name } => [Corpus::Shakespeare, Corpus::TinyTalks]
                .into_iter()
                .map(Corpus::embedded)
                .find(|(known, _)| known == name)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| Error::File {
                    path: name.clone(),
                    msg: "no corpus of that name is built into mgp".to_string(),
                }),
        }
    }

    /// The text, and its tokens split 90% training, 10% validation (as
    /// every GPT run splits it); errors name the source.
    pub fn load(&self) -> Result<(String, TextData)> {
        let text = self.read()?;
        let data = TextData::new(&text, 0.9).map_err(|e| Error::File {
            path: self.to_string(),
            msg: e.to_string(),
        })?;
        Ok((text, data))
    }
}

impl std::fmt::Display for TextSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextSource::File(path) => write!(f, "{}", path.display()),
            TextSource::Embedded { embedded } => write!(f, "{embedded} (built into mgp)"),
        }
    }
}

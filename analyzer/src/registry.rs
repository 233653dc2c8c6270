//! The subnet registry: which subnets exist, what they are called, and the words that name them.
//!
//! Pulse ships its own registry in `data/subnets.json` (documented in `data/README.md`) and
//! embeds it in the binary, so a miner and a validator built from the same commit always match
//! against the same list. Operators can load another file with [`Registry::from_path`] when the
//! chain gains subnets before a release does.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The registry file compiled into the crate (`data/subnets.json`).
pub const EMBEDDED_REGISTRY_JSON: &str = include_str!("../../data/subnets.json");

/// The registry file format this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

/// One subnet as the registry describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// The subnet's netuid on the chain.
    pub id: u16,
    /// The subnet's name exactly as the reference registry spells it. It is the key of the
    /// `tokens` object miners submit, so it must not be reworded.
    pub name: String,
    /// Other names the subnet goes by (project names, handles, `SN<id>`), in the registry's
    /// order and case. Matching lowercases them.
    #[serde(default)]
    pub identifiers: Vec<String>,
    /// True for a netuid the reference registry lists without a real project (named
    /// `unknown`). A placeholder is matched only by an explicit `sn <id>` / `subnet <id>`
    /// mention, never by its name or identifiers: the word "unknown" says nothing about a
    /// subnet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub placeholder: bool,
}

/// The registry file: a schema version and the subnets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    schema: u32,
    subnets: Vec<Subnet>,
}

/// A validated subnet registry, ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    subnets: Vec<Subnet>,
}

/// Why a registry file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read.
    #[error("cannot read subnet registry {path}: {source}")]
    Read {
        /// The path that was read.
        path: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON of the registry's shape (unknown fields are rejected, so a
    /// misspelt key is reported rather than silently ignored).
    #[error("subnet registry is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// The file declares a schema this crate does not read.
    #[error("subnet registry has schema {found}, this build reads schema {SCHEMA_VERSION}")]
    UnsupportedSchema {
        /// The schema the file declares.
        found: u32,
    },
    /// The file lists no subnets.
    #[error("subnet registry lists no subnets")]
    Empty,
    /// Two entries share an id.
    #[error("subnet id {id} appears more than once in the registry")]
    DuplicateId {
        /// The repeated id.
        id: u16,
    },
    /// An entry's name is empty or has leading or trailing whitespace.
    #[error("subnet {id} has an empty or untrimmed name {name:?}")]
    BadName {
        /// The subnet's id.
        id: u16,
        /// The offending name.
        name: String,
    },
    /// An entry lists an empty or whitespace-only identifier.
    #[error("subnet {id} has an empty identifier")]
    EmptyIdentifier {
        /// The subnet's id.
        id: u16,
    },
    /// Two subnets that are not placeholders share a name (compared lowercased and trimmed, as
    /// validators compare `tokens` keys), so a submitted token could not say which one it means.
    #[error("subnets {first} and {second} share the name {name:?}")]
    DuplicateName {
        /// The lower id.
        first: u16,
        /// The higher id.
        second: u16,
        /// The shared name.
        name: String,
    },
}

impl Registry {
    /// The registry compiled into the crate.
    ///
    /// # Panics
    /// Never in practice: the embedded file is validated by this crate's tests, so a build
    /// whose embedded registry is invalid does not pass CI.
    pub fn embedded() -> Self {
        Self::from_json(EMBEDDED_REGISTRY_JSON)
            .expect("the embedded data/subnets.json is validated by the analyzer tests")
    }

    /// Parses and validates a registry file's contents.
    pub fn from_json(json: &str) -> Result<Self, RegistryError> {
        let file: RegistryFile = serde_json::from_str(json)?;
        if file.schema != SCHEMA_VERSION {
            return Err(RegistryError::UnsupportedSchema { found: file.schema });
        }
        Self::new(file.subnets)
    }

    /// Reads, parses and validates a registry file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&json)
    }

    /// Validates a list of subnets and orders it by id.
    pub fn new(mut subnets: Vec<Subnet>) -> Result<Self, RegistryError> {
        if subnets.is_empty() {
            return Err(RegistryError::Empty);
        }
        // Ordered by id, so matching walks subnets in a fixed order whatever the file's order.
        subnets.sort_by_key(|s| s.id);
        for pair in subnets.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(RegistryError::DuplicateId { id: pair[0].id });
            }
        }
        let mut names: BTreeMap<String, u16> = BTreeMap::new();
        for subnet in &subnets {
            if subnet.name.is_empty() || subnet.name.trim() != subnet.name {
                return Err(RegistryError::BadName {
                    id: subnet.id,
                    name: subnet.name.clone(),
                });
            }
            if subnet.identifiers.iter().any(|i| i.trim().is_empty()) {
                return Err(RegistryError::EmptyIdentifier { id: subnet.id });
            }
            if subnet.placeholder {
                continue;
            }
            let key = subnet.name.trim().to_lowercase();
            if let Some(&first) = names.get(&key) {
                return Err(RegistryError::DuplicateName {
                    first,
                    second: subnet.id,
                    name: subnet.name.clone(),
                });
            }
            names.insert(key, subnet.id);
        }
        Ok(Self { subnets })
    }

    /// All subnets, ordered by id.
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    /// The subnet with this id, if any.
    pub fn get(&self, id: u16) -> Option<&Subnet> {
        self.subnets
            .binary_search_by_key(&id, |s| s.id)
            .ok()
            .map(|i| &self.subnets[i])
    }

    /// How many subnets the registry holds.
    pub fn len(&self) -> usize {
        self.subnets.len()
    }

    /// Whether the registry is empty (never true for a validated registry).
    pub fn is_empty(&self) -> bool {
        self.subnets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: u16, name: &str) -> Subnet {
        Subnet {
            id,
            name: name.to_owned(),
            identifiers: vec![format!("SN{id}")],
            placeholder: false,
        }
    }

    #[test]
    fn embedded_registry_is_valid_and_covers_ids_0_to_128() {
        let registry = Registry::embedded();
        let ids: Vec<u16> = registry.subnets().iter().map(|s| s.id).collect();
        assert_eq!(ids, (0..=128).collect::<Vec<u16>>());
    }

    #[test]
    fn embedded_registry_keeps_reference_names_and_identifiers() {
        let registry = Registry::embedded();
        let talisman = registry.get(45).unwrap();
        assert_eq!(talisman.name, "talisman_ai");
        assert_eq!(
            talisman.identifiers,
            ["talisman_ai", "SN45", "Talisman wallet", "Talisman agent"]
        );
        assert_eq!(registry.get(3).unwrap().name, "\u{3c4}emplar");
        assert_eq!(registry.get(0).unwrap().name, "root");
    }

    #[test]
    fn embedded_placeholders_are_exactly_the_subnets_named_unknown() {
        let registry = Registry::embedded();
        let placeholders: Vec<u16> = registry
            .subnets()
            .iter()
            .filter(|s| s.placeholder)
            .map(|s| s.id)
            .collect();
        let unknown: Vec<u16> = registry
            .subnets()
            .iter()
            .filter(|s| s.name == "unknown")
            .map(|s| s.id)
            .collect();
        assert_eq!(placeholders, [28, 49, 69, 78, 82, 95, 101]);
        assert_eq!(placeholders, unknown);
    }

    #[test]
    fn entries_are_ordered_by_id_whatever_the_file_order() {
        let registry = Registry::new(vec![subnet(7, "b"), subnet(2, "a")]).unwrap();
        let ids: Vec<u16> = registry.subnets().iter().map(|s| s.id).collect();
        assert_eq!(ids, [2, 7]);
        assert_eq!(registry.get(7).unwrap().name, "b");
        assert!(registry.get(3).is_none());
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let err = Registry::new(vec![subnet(4, "a"), subnet(4, "b")]).unwrap_err();
        assert!(matches!(err, RegistryError::DuplicateId { id: 4 }), "{err}");
    }

    #[test]
    fn duplicate_names_are_rejected_case_insensitively() {
        let err = Registry::new(vec![subnet(1, "Apex"), subnet(9, "apex")]).unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::DuplicateName {
                    first: 1,
                    second: 9,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn placeholders_may_share_a_name() {
        let mut a = subnet(28, "unknown");
        let mut b = subnet(49, "unknown");
        a.placeholder = true;
        b.placeholder = true;
        assert_eq!(Registry::new(vec![a, b]).unwrap().len(), 2);
    }

    #[test]
    fn empty_or_untrimmed_names_and_empty_identifiers_are_rejected() {
        assert!(matches!(
            Registry::new(vec![subnet(1, "")]),
            Err(RegistryError::BadName { id: 1, .. })
        ));
        assert!(matches!(
            Registry::new(vec![subnet(1, " apex")]),
            Err(RegistryError::BadName { id: 1, .. })
        ));
        let mut blank = subnet(2, "omron");
        blank.identifiers.push("  ".to_owned());
        assert!(matches!(
            Registry::new(vec![blank]),
            Err(RegistryError::EmptyIdentifier { id: 2 })
        ));
        assert!(matches!(Registry::new(vec![]), Err(RegistryError::Empty)));
    }

    #[test]
    fn unknown_schema_and_misspelt_fields_are_rejected() {
        let err = Registry::from_json(r#"{"schema": 2, "subnets": []}"#).unwrap_err();
        assert!(matches!(err, RegistryError::UnsupportedSchema { found: 2 }));
        let err = Registry::from_json(
            r#"{"schema": 1, "subnets": [{"id": 1, "name": "apex", "identifers": []}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("identifers"), "{err}");
    }

    #[test]
    fn identifiers_and_placeholder_flag_are_optional_in_the_file() {
        let registry =
            Registry::from_json(r#"{"schema": 1, "subnets": [{"id": 5, "name": "hone"}]}"#)
                .unwrap();
        let hone = registry.get(5).unwrap();
        assert!(hone.identifiers.is_empty());
        assert!(!hone.placeholder);
    }

    #[test]
    fn missing_files_name_the_path() {
        let err = Registry::from_path("/nonexistent/pulse/subnets.json").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pulse/subnets.json"));
    }
}

//! Profiles: which logic a hunt applies. `default` runs sighunt's detectors (decoded
//! argv, wrappers, shell strings, scored indicators, allow-lists); `seed` applies the
//! seed Sumo Logic query's semantics to the raw records, so that a team can compare
//! sighunt with the query on the same data (see [`seed`]).

pub mod seed;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::rules::{Rules, RulesError};

/// A profile's name, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileName {
    #[default]
    Default,
    Seed,
}

impl FromStr for ProfileName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "default" => Ok(ProfileName::Default),
            "seed" => Ok(ProfileName::Seed),
            _ => Err(format!("unknown profile {s:?} (expected default or seed)")),
        }
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileName::Default => "default",
            ProfileName::Seed => "seed",
        })
    }
}

/// A profile ready to run.
#[derive(Debug, Clone, Default)]
pub enum Profile {
    /// sighunt's detectors.
    #[default]
    Default,
    /// The seed query's semantics, compiled from `[seed]`.
    Seed(Arc<seed::SeedQuery>),
}

impl Profile {
    /// Builds the profile `name` from the rule data.
    pub fn new(name: ProfileName, rules: &Rules) -> Result<Profile, RulesError> {
        Ok(match name {
            ProfileName::Default => Profile::Default,
            ProfileName::Seed => Profile::Seed(Arc::new(seed::SeedQuery::from_rules(rules)?)),
        })
    }

    pub fn name(&self) -> ProfileName {
        match self {
            Profile::Default => ProfileName::Default,
            Profile::Seed(_) => ProfileName::Seed,
        }
    }
}

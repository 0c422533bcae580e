//! `vrrp_sync_group`: the member instances change state together
//! (keepalived): when one becomes MASTER, BACKUP or FAULT, the others are
//! told to follow with [`Event::GroupFollow`].

use super::machine::{Action, Event, State};

/// A sync group: the names of its member instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub members: Vec<String>,
}

impl SyncGroup {
    /// The follow-up events for the other members after `origin` produced
    /// `actions`. Only the last transition of `origin` matters; INIT (stop)
    /// is not propagated.
    pub fn propagate(&self, origin: &str, actions: &[Action]) -> Vec<(String, Event)> {
        let Some(to) = actions.iter().rev().find_map(|a| match a {
            Action::Transition { to, .. } => Some(*to),
            _ => None,
        }) else {
            return Vec::new();
        };
        if to == State::Init || !self.members.iter().any(|m| m == origin) {
            return Vec::new();
        }
        self.members
            .iter()
            .filter(|m| m.as_str() != origin)
            .map(|m| (m.clone(), Event::GroupFollow(to)))
            .collect()
    }
}

//! `vrrp_sync_group`: the member instances change state together
//! (keepalived): when one becomes MASTER, BACKUP or FAULT, the others are
//! told to follow with [`Event::GroupFollow`].

use tokio::sync::{mpsc, watch};

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

/// One running member for [`coordinate`]: its name, its state, its event input.
pub type Member = (String, watch::Receiver<State>, mpsc::UnboundedSender<Event>);

/// Keeps running instances of one sync group together: whenever a member
/// changes to MASTER, BACKUP or FAULT, every other member is told to follow.
/// Ends when every member has stopped.
pub async fn coordinate(members: Vec<Member>) {
    let (changes_tx, mut changes) = mpsc::unbounded_channel::<(usize, State)>();
    let mut inputs = Vec::new();
    for (index, (name, mut state, events)) in members.into_iter().enumerate() {
        inputs.push((name, events));
        let changes_tx = changes_tx.clone();
        tokio::spawn(async move {
            while state.changed().await.is_ok() {
                let now = *state.borrow_and_update();
                if changes_tx.send((index, now)).is_err() {
                    return;
                }
            }
        });
    }
    drop(changes_tx);
    while let Some((origin, to)) = changes.recv().await {
        if to == State::Init {
            continue;
        }
        tracing::debug!(
            "sync group: {} went {to:?}, others follow",
            inputs[origin].0
        );
        for (index, (_, events)) in inputs.iter().enumerate() {
            if index != origin {
                let _ = events.send(Event::GroupFollow(to));
            }
        }
    }
}

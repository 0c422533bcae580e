//! Finding the virtual servers of the configuration being replaced by
//! service key. A reload usually keeps the file's order, so the same
//! position is tried first and a map is built only at the first miss: at
//! 1,000 virtual servers a reload that changes one builds none.

use std::cell::OnceCell;
use std::collections::HashMap;

use ipvs_sys::ServiceKey;

/// Items of an older list, found by service key.
#[derive(Debug)]
pub struct ByKey<'a, T> {
    items: &'a [T],
    key: fn(&T) -> ServiceKey,
    map: OnceCell<HashMap<ServiceKey, usize>>,
}

impl<'a, T> ByKey<'a, T> {
    /// `items`, whose keys `key` gives.
    pub fn new(items: &'a [T], key: fn(&T) -> ServiceKey) -> Self {
        ByKey {
            items,
            key,
            map: OnceCell::new(),
        }
    }

    /// The index of the item with `key`, looked for at `at` first. With
    /// the same key twice (which the configuration should not have), the
    /// map gives the last.
    pub fn find(&self, at: usize, key: &ServiceKey) -> Option<usize> {
        if self
            .items
            .get(at)
            .is_some_and(|item| (self.key)(item) == *key)
        {
            return Some(at);
        }
        self.map
            .get_or_init(|| {
                self.items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| ((self.key)(item), i))
                    .collect()
            })
            .get(key)
            .copied()
    }

    /// True once a lookup missed its position (for tests).
    #[cfg(test)]
    fn mapped(&self) -> bool {
        self.map.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipvs_sys::Protocol;

    fn key(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: [10, 0, 0, last].into(),
            port: 80,
        }
    }

    #[test]
    fn the_same_position_is_tried_first_and_a_map_built_only_on_a_miss() {
        let old = [key(1), key(2), key(3)];
        let by_key = ByKey::new(&old, |k| *k);
        assert_eq!(by_key.find(1, &key(2)), Some(1));
        assert!(!by_key.mapped());
        // Moved: found through the map.
        assert_eq!(by_key.find(0, &key(3)), Some(2));
        assert!(by_key.mapped());
        assert_eq!(by_key.find(5, &key(1)), Some(0));
        assert_eq!(by_key.find(0, &key(4)), None);
    }
}

//! Integer handles for objects owned by the instance. Ids are never reused, so a stale
//! handle can never alias a newer object.

use gradlab_core::Error;
use std::collections::HashMap;

pub struct Handles<T> {
    items: HashMap<u32, T>,
    next_id: u32,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Handles { items: HashMap::new(), next_id: 1 }
    }
}

impl<T> Handles<T> {
    pub fn insert(&mut self, item: T) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.items.insert(id, item);
        id
    }

    pub fn get(&self, op: &str, arg: &str, handle: u32) -> Result<&T, Error> {
        self.items.get(&handle).ok_or_else(|| invalid(op, arg, handle))
    }

    pub fn get_mut(&mut self, op: &str, arg: &str, handle: u32) -> Result<&mut T, Error> {
        self.items.get_mut(&handle).ok_or_else(|| invalid(op, arg, handle))
    }

    pub fn remove(&mut self, op: &str, arg: &str, handle: u32) -> Result<T, Error> {
        self.items.remove(&handle).ok_or_else(|| invalid(op, arg, handle))
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn invalid(op: &str, arg: &str, handle: u32) -> Error {
    Error::InvalidHandle { op: op.into(), arg: arg.into(), handle }
}

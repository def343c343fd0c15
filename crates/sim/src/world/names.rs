//! Node names as small numbers: events, connections and links refer to nodes by index, so the
//! hot paths neither clone nor compare strings.

use std::collections::BTreeMap;

pub(super) type NodeIx = usize;

/// Every name the world has seen (nodes, link ends, client targets). An index is never reused:
/// a node removed and added again under its name gets its index back.
#[derive(Clone, Debug, Default)]
pub(super) struct Names {
    ix: BTreeMap<String, NodeIx>,
    names: Vec<String>,
}

impl Names {
    pub(super) fn get(&self, name: &str) -> Option<NodeIx> {
        self.ix.get(name).copied()
    }

    pub(super) fn intern(&mut self, name: &str) -> NodeIx {
        if let Some(i) = self.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.ix.insert(name.to_string(), i);
        i
    }

    pub(super) fn name(&self, i: NodeIx) -> &str {
        self.names.get(i).map(String::as_str).unwrap_or("")
    }

    /// Every name with its index, in name order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, NodeIx)> {
        self.ix.iter().map(|(n, i)| (n, *i))
    }
}

//! The append-only Merkle tree of RFC 6962 §2.1 (the tree of Certificate
//! Transparency logs), over the audit trail's events: a signed root of it
//! commits to every event before it and their order, and a short proof shows
//! that one event is among them. SHA-256 from the sha2 crate; the leaf and
//! node prefixes (0x00, 0x01) keep a leaf from passing for a node.
//!
//! The building block of the anchored audit trail (issue 22): checkpoints
//! sign a root, receipts carry an inclusion proof.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The hash of a leaf's data: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an inner node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n ≥ 2): where RFC 6962 splits.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The tree hash of a list of leaf hashes (`MTH` of RFC 6962 §2.1).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` (`PATH` of RFC 6962 §2.1.1), innermost
/// sibling first; empty when `index` is not a leaf of the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    if index >= leaves.len() || leaves.len() == 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    if index < k {
        let mut path = inclusion_proof(&leaves[..k], index);
        path.push(root(&leaves[k..]));
        path
    } else {
        let mut path = inclusion_proof(&leaves[k..], index - k);
        path.push(root(&leaves[..k]));
        path
    }
}

/// Whether `proof` shows leaf hash `leaf` at `index` in the tree of `size`
/// leaves whose root is `root` (the verification of RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// How many leaves a stored block holds: the log is cut into aligned blocks
/// of this many places, and the root of each complete one is stored
/// (`audit_log_blocks`). Every split of RFC 6962 above this size falls on a
/// block boundary, so a proof needs, besides those roots, only the leaves of
/// the block holding its leaf and of the incomplete last block.
pub const BLOCK: u64 = 1024;

/// What a proof is built from when not every leaf is at hand: the roots of
/// some complete aligned blocks of `block` leaves (by block number), and
/// some leaf hashes (by place).
#[derive(Debug, Clone, Default)]
pub struct InBlocks {
    pub block: u64,
    pub roots: std::collections::BTreeMap<u64, Hash>,
    pub leaves: std::collections::BTreeMap<u64, Hash>,
}

fn root_of_parts(parts: &InBlocks, start: u64, end: u64) -> Option<Hash> {
    let n = end - start;
    if n == parts.block
        && start.is_multiple_of(parts.block)
        && let Some(known) = parts.roots.get(&(start / parts.block))
    {
        return Some(*known);
    }
    if n == 1 {
        return parts.leaves.get(&start).copied();
    }
    let k = split(n as usize) as u64;
    Some(node_hash(
        &root_of_parts(parts, start, start + k)?,
        &root_of_parts(parts, start + k, end)?,
    ))
}

/// `inclusion_proof` for leaf `index` of the tree of `size` leaves, built
/// from `parts`; `None` when a leaf it needed was not at hand.
pub fn inclusion_proof_from(parts: &InBlocks, size: u64, index: u64) -> Option<Vec<Hash>> {
    if index >= size {
        return Some(Vec::new());
    }
    // Down from the whole tree to the leaf, noting each sibling; the proof
    // lists them innermost first.
    let (mut start, mut end) = (0, size);
    let mut siblings = Vec::new();
    while end - start > 1 {
        let k = split((end - start) as usize) as u64;
        if index < start + k {
            siblings.push(root_of_parts(parts, start + k, end)?);
            end = start + k;
        } else {
            siblings.push(root_of_parts(parts, start, start + k)?);
            start += k;
        }
    }
    siblings.reverse();
    Some(siblings)
}

/// The right edge of a growing tree: the roots of its perfect subtrees, the
/// largest first, with their heights. Enough to add leaves and name the new
/// root without reading the old ones again; at most 64 hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf hash at the end.
    pub fn push(&mut self, leaf: Hash) {
        self.size += 1;
        self.nodes.push((0, leaf));
        while let [.., (hl, _), (hr, _)] = self.nodes[..]
            && hl == hr
        {
            let (_, right) = self.nodes.pop().expect("two nodes");
            let (height, left) = self.nodes.pop().expect("two nodes");
            self.nodes.push((height + 1, node_hash(&left, &right)));
        }
    }

    /// The tree hash of every leaf pushed so far: the perfect subtrees
    /// joined from the right, which is how RFC 6962 splits a tree.
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some((_, last)) = nodes.next() else {
            return Sha256::digest([]).into();
        };
        nodes.fold(*last, |acc, (_, left)| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        super::super::evidence::hex(h)
    }

    /// The inputs of the reference tests of Certificate Transparency's
    /// Merkle tree, whose roots RFC 6962 implementations agree on.
    fn inputs() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60..0x70).collect(),
        ]
    }

    /// Leaves in blocks of `block`: the roots of the complete blocks but
    /// those listed as missing, and only the leaves of the blocks named.
    fn in_blocks(all: &[Hash], block: u64, index: u64, missing: &[u64]) -> InBlocks {
        let size = all.len() as u64;
        let complete = size / block;
        let roots = (0..complete)
            .filter(|j| !missing.contains(j))
            .map(|j| {
                (
                    j,
                    root(&all[(j * block) as usize..((j + 1) * block) as usize]),
                )
            })
            .collect();
        let wanted = |at: u64| {
            let j = at / block;
            j == index / block || j >= complete || missing.contains(&j)
        };
        let leaves = (0..size)
            .filter(|at| wanted(*at))
            .map(|at| (at, all[at as usize]))
            .collect();
        InBlocks {
            block,
            roots,
            leaves,
        }
    }

    #[test]
    fn proofs_from_block_roots_and_two_blocks_of_leaves_are_the_proofs_from_every_leaf() {
        let all: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for block in [1, 2, 4, 8] {
            for size in 1..=all.len() {
                let leaves = &all[..size];
                let size = size as u64;
                for index in 0..size {
                    let want = inclusion_proof(leaves, index as usize);
                    for missing in [&[][..], &[0][..], &[1, 3][..]] {
                        let parts = in_blocks(leaves, block, index, missing);
                        assert_eq!(
                            inclusion_proof_from(&parts, size, index).as_ref(),
                            Some(&want),
                            "block {block}, size {size}, index {index}, missing {missing:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_proof_that_needs_a_leaf_not_at_hand_is_not_made() {
        let all: Vec<Hash> = (0u32..20).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut parts = in_blocks(&all, 4, 5, &[]);
        parts.leaves.remove(&4);
        assert_eq!(inclusion_proof_from(&parts, 20, 5), None);
    }

    #[test]
    fn roots_are_those_of_the_reference_vectors() {
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<Hash> = inputs().iter().map(|d| leaf_hash(d)).collect();
        let mut frontier = Frontier::default();
        for (n, expected) in roots.iter().enumerate() {
            assert_eq!(hex(&root(&leaves[..n])), *expected, "{n} leaves");
            assert_eq!(hex(&frontier.root()), *expected, "{n} leaves, pushed");
            if n < leaves.len() {
                frontier.push(leaves[n]);
            }
        }
        assert_eq!(frontier.size(), 8);
    }

    #[test]
    fn audit_paths_are_those_of_the_reference_tree() {
        let leaves: Vec<Hash> = inputs().iter().map(|d| leaf_hash(d)).collect();
        // Computed apart (a Python rendering of RFC 6962 §2.1.1).
        let starts = |index: usize| -> Vec<String> {
            inclusion_proof(&leaves, index)
                .iter()
                .map(|h| hex(h)[..16].to_owned())
                .collect()
        };
        assert_eq!(
            starts(0),
            ["96a296d224f285c6", "5f083f0a1a33ca07", "6b47aaf29ee3c2af"]
        );
        assert_eq!(
            starts(5),
            ["bc1a0643b12e4d2d", "ca854ea128ed050b", "d37ee418976dd957"]
        );
        assert_eq!(
            starts(7),
            ["b08693ec2e721597", "0ebc5d3437fbe2db", "d37ee418976dd957"]
        );
    }

    #[test]
    fn every_leaf_of_every_tree_is_proved_and_nothing_else_is() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut frontier = Frontier::default();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            frontier.push(tree[size - 1]);
            let top = root(tree);
            assert_eq!(frontier.root(), top, "{size}");
            for index in 0..size {
                let proof = inclusion_proof(tree, index);
                let (i, n) = (index as u64, size as u64);
                assert!(verify_inclusion(&tree[index], i, n, &proof, &top));
                // Another leaf, place, size or root: refused.
                let other = leaf_hash(b"not in the tree");
                assert!(!verify_inclusion(&other, i, n, &proof, &top));
                if size > 1 {
                    let elsewhere = (index + 1) % size;
                    assert!(!verify_inclusion(
                        &tree[index],
                        elsewhere as u64,
                        n,
                        &proof,
                        &top
                    ));
                }
                // The proof of a smaller tree does not pass for the next
                // one (a checkpoint signs a size and a root together).
                if size < leaves.len() {
                    let next = root(&leaves[..=size]);
                    assert!(!verify_inclusion(&tree[index], i, n + 1, &proof, &next));
                }
                assert!(!verify_inclusion(&tree[index], i, n, &proof, &other));
                assert!(!verify_inclusion(&tree[index], n, n, &proof, &top));
            }
        }
    }

    #[test]
    fn a_leaf_cannot_pass_for_a_node() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut joined = a.to_vec();
        joined.extend_from_slice(&b);
        assert_ne!(leaf_hash(&joined), node_hash(&a, &b));
    }
}

// Package buckets is hubctl's model of Textile buckets: the instance a bucket is in
// ThreadDB, the collection that holds those instances, bucket paths and keys, and the
// UnixFS machinery that edits a bucket's directory tree. It has no gRPC and no ThreadDB
// client: pkg/server serves the Hub's bucketsd API on top of it, pkg/gateway serves
// bucket contents over HTTP, and cmd computes local CIDs with it.
//
// How buckets map onto threads and blocks:
//
//   - A bucket lives in an ordinary database (a thread) of its owner: one instance of the
//     collection "buckets" (CollectionName, CollectionConfig), exactly as the Hub stored
//     it (Bucket, with the Hub's JSON). Ownership and isolation are the database's: only
//     its owner or an operator reaches its buckets. The collection's write validator and
//     read filter are the Hub's, verbatim, so the Hub's rules about who may change which
//     field hold here too.
//   - The instance ID is the bucket key (NewKey): the CID of a fresh Ed25519 libp2p key,
//     in base32, as the Hub's IPNS key IDs. The private key is not kept: nothing
//     publishes IPNS; hubctl resolves /ipns/<key> from its own instances.
//   - The contents are a UnixFS directory tree in the node's blockstore (the same
//     blockstore go-threads keeps its records in, so nothing here deletes blocks). The
//     instance's path field, "/ipfs/<root cid>", names the current root; a write builds
//     a new root and then saves the instance, so a write that fails leaves the old root
//     in place.
//   - The root directory always holds ".textileseed" (SeedName), a raw block of 32 random
//     bytes, so two empty buckets never share a root CID. Paths naming the seed are
//     refused (CleanPath).
//   - Files are added with FileParams: CIDv1, raw leaves, 256 KiB chunks, balanced
//     layout, as the Hub and its CLI did, so that a file's CID is the same wherever it
//     is computed (FileCID computes it without storing anything). Directories are CIDv1
//     dag-pb everywhere, intermediates included (the Hub made its intermediates CIDv0;
//     only file CIDs are ever compared, so this changes nothing a client checks).
//   - Edits go through an Editor, which keeps the directories it changes in memory by
//     path, never loads a file, and stores the changed directories on Commit (one Commit
//     per push, not per file). It refuses to descend into a file. It is not go-merkledag's
//     dagutils editor, which adds a named link to a multi-block file's node (corrupting
//     it), drops a directory equal to one it edits, and holds every inserted file's root
//     block in memory (TestDagutilsCorruptsFiles).
//   - Paths are bucket-relative, checked by CleanPath: no "." or "..", no empty
//     segment, no seed, and nothing bucket metadata (keyed by path, handed to the
//     collection's JavaScript) cannot hold; at most PATH_MAX bytes, NAME_MAX a name.
//
// Metadata (per-path roles and keys) is kept as the Hub kept it, so that private buckets
// and sharing (not served yet) need no change of format.
package buckets

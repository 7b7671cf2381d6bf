import PagedKV

/// The KV cache of a search when it held the most blocks (issue 6: KV bytes against the
/// unique tokens stored). Taken at the end of an extend whenever the blocks in use grew by
/// an eighth (and at least 8 blocks) since the last snapshot, so it is within 1/8 of the
/// true peak (8 blocks for a small tree) and costs O(log peak) walks of the block tables.
public struct SearchKV: Codable, Sendable, Equatable {
    /// Blocks held × block bytes.
    public var bytesInUse: Int
    /// Distinct token rows held (a row shared by forked branches counts once).
    public var tokensStored: Int
    /// Sum of the live branches' lengths: what a cache without sharing would hold.
    public var tokensLogical: Int
    public var bytesPerToken: Int
    /// Bytes the same branches would take with the same paging and no sharing.
    public var bytesWithoutSharing: Int
    public var sharedBlocks: Int

    /// bytesInUse / (tokensStored × bytesPerToken): 1 when every held block is full (the
    /// rest is the unfilled tail rows of blocks).
    public var overhead: Double

    public init(_ stats: KVStats, bytesPerToken: Int) {
        bytesInUse = stats.bytesInUse
        tokensStored = stats.tokensStored
        tokensLogical = stats.tokensLogical
        self.bytesPerToken = bytesPerToken
        bytesWithoutSharing = stats.bytesWithoutSharing
        sharedBlocks = stats.sharedBlocks
        overhead = tokensStored > 0 ? Double(bytesInUse) / Double(tokensStored * bytesPerToken) : 0
    }

    enum CodingKeys: String, CodingKey {
        case bytesInUse = "bytes_in_use", tokensStored = "tokens_stored", tokensLogical = "tokens_logical"
        case bytesPerToken = "bytes_per_token", bytesWithoutSharing = "bytes_without_sharing"
        case sharedBlocks = "shared_blocks", overhead
    }
}

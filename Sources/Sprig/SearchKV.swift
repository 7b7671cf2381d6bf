import PagedKV

/// The KV cache of a search when it held the most blocks (issue 6: KV bytes against the
/// unique tokens stored). Taken at the end of an extend whenever the blocks in use grew by
/// an eighth since the last snapshot, so it is within 1/8 of the true peak and costs
/// O(log peak) walks of the block tables per search.
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

    public init(_ stats: KVStats, bytesPerToken: Int) {
        bytesInUse = stats.bytesInUse
        tokensStored = stats.tokensStored
        tokensLogical = stats.tokensLogical
        self.bytesPerToken = bytesPerToken
        bytesWithoutSharing = stats.bytesWithoutSharing
        sharedBlocks = stats.sharedBlocks
    }

    /// bytesInUse / (tokensStored × bytesPerToken): 1 when every held block is full (the
    /// rest is the unfilled tail rows of blocks).
    public var overhead: Double {
        tokensStored > 0 ? Double(bytesInUse) / Double(tokensStored * bytesPerToken) : 0
    }

    enum CodingKeys: String, CodingKey {
        case bytesInUse = "bytes_in_use", tokensStored = "tokens_stored", tokensLogical = "tokens_logical"
        case bytesPerToken = "bytes_per_token", bytesWithoutSharing = "bytes_without_sharing"
        case sharedBlocks = "shared_blocks", overhead
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bytesInUse = try c.decode(Int.self, forKey: .bytesInUse)
        tokensStored = try c.decode(Int.self, forKey: .tokensStored)
        tokensLogical = try c.decode(Int.self, forKey: .tokensLogical)
        bytesPerToken = try c.decode(Int.self, forKey: .bytesPerToken)
        bytesWithoutSharing = try c.decode(Int.self, forKey: .bytesWithoutSharing)
        sharedBlocks = try c.decode(Int.self, forKey: .sharedBlocks)
    }

    /// The stored figures and `overhead`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bytesInUse, forKey: .bytesInUse)
        try c.encode(tokensStored, forKey: .tokensStored)
        try c.encode(tokensLogical, forKey: .tokensLogical)
        try c.encode(bytesPerToken, forKey: .bytesPerToken)
        try c.encode(bytesWithoutSharing, forKey: .bytesWithoutSharing)
        try c.encode(sharedBlocks, forKey: .sharedBlocks)
        try c.encode(overhead, forKey: .overhead)
    }
}

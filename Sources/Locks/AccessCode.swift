import Foundation
import Postgres

/// A PIN code, online or offline, as the API shows it (`visible_access_codes`).
public struct AccessCode: Sendable, Equatable {
    public struct Issue: Sendable, Equatable, Codable {
        public let code: String
        public let message: String
    }

    public let id: UUID
    public let lockID: UUID
    public let ownerID: UUID
    public let name: String?
    public let code: String
    public let startsAt: Date?
    public let endsAt: Date?
    public let status: String
    /// Offline codes: the kind of grant the PIN encodes (nil for online codes).
    public let offlineKind: OfflineCodeKind?
    public let errors: [Issue]
    public let warnings: [Issue]
    public let createdAt: Date
    public let updatedAt: Date
    /// created_at exactly (the page cursor's first half; `createdAt` is the same instant as a Double).
    let createdMicros: Int64

    public var isTimeBound: Bool { offlineKind == nil ? startsAt != nil || endsAt != nil : endsAt != nil }
    public var isOffline: Bool { offlineKind != nil }

    /// A row of `SELECT <AccessCode.columns> FROM` one of the code views (`readable_access_codes`,
    /// `visible_access_codes`) or an insert returning their columns.
    init(row: PostgresRow) throws {
        var reader = PostgresRowReader(row)
        try self.init(&reader)
    }

    /// Reads the columns of `AccessCode.columns`, in their order, from `reader`'s position on.
    init(_ reader: inout PostgresRowReader) throws {
        id = try reader.next(UUID.self)
        lockID = try reader.next(UUID.self)
        ownerID = try reader.next(UUID.self)
        name = try reader.next(String?.self)
        code = try reader.next(String.self)
        startsAt = try reader.next(Date?.self)
        endsAt = try reader.next(Date?.self)
        status = try reader.next(String.self)
        offlineKind = try reader.next(String?.self).flatMap(OfflineCodeKind.init(rawValue:))
        errors = try Self.issues(try reader.next(String.self))
        warnings = try Self.issues(try reader.next(String.self))
        let created = try reader.next(ExactTimestamp.self)
        createdAt = created.date
        updatedAt = try reader.next(Date.self)
        createdMicros = created.microsSince1970
    }

    /// What `init(row:)` reads, in its order.
    static let columns: SQL = """
         access_code_id, lock_id, owner_id, name, code, starts_at, ends_at, status, offline_type, errors, warnings,
         created_at, updated_at

        """

    /// `[{"code": ..., "message": ...}]` as stored in jsonb. Most codes have none, and jsonb
    /// prints an empty array as exactly `[]`: answered without a JSONDecoder, which was nearly
    /// half the cost of reading a row (two per code, 398 for a full lock's list).
    static func issues(_ json: String) throws -> [Issue] {
        if json == "[]" { return [] }
        return try JSONDecoder().decode([Issue].self, from: Data(json.utf8))
    }
}

public enum AccessCodeError: Error, Equatable {
    case lockNotFound
    case notFound
    case invalidCode(min: Int, max: Int)
    case pinConflict
    case limitReached(max: Int)
    case invalidTimeRange(String)
    case invalidName
    case onlineCodesNotSupported
    case invalidCursor
    case invalidLimit
    // The offline registry's rules (contract 5, table of limits).
    case offlineCodesNotSupported
    case offlineCustomPIN
    case offlineImmutable
    case offlineNotRemovable
    case invalidOfflineDuration(String)
    case invalidOfflineSchedule(String)
    case maxTimeRoundingExceeded(String)
    case offlineSlotUnavailable(String)
    /// An erase code or key rotation waits until the lock has caught up with the previous one.
    case offlineKeyChangePending(String)
}

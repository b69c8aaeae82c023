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
    let createdMicros: Int64

    public var isTimeBound: Bool { offlineKind == nil ? startsAt != nil || endsAt != nil : endsAt != nil }
    public var isOffline: Bool { offlineKind != nil }

    init(row: PostgresRow) throws {
        id = try row.decode(UUID.self, column: "access_code_id")
        lockID = try row.decode(UUID.self, column: "lock_id")
        ownerID = try row.decode(UUID.self, column: "owner_id")
        name = try row.decode(String?.self, column: "name")
        code = try row.decode(String.self, column: "code")
        startsAt = try row.decode(Date?.self, column: "starts_at")
        endsAt = try row.decode(Date?.self, column: "ends_at")
        status = try row.decode(String.self, column: "status")
        offlineKind = try row.decode(String?.self, column: "offline_type").flatMap(OfflineCodeKind.init(rawValue:))
        errors = try Self.issues(try row.decode(String.self, column: "errors"))
        warnings = try Self.issues(try row.decode(String.self, column: "warnings"))
        createdAt = try row.decode(Date.self, column: "created_at")
        updatedAt = try row.decode(Date.self, column: "updated_at")
        createdMicros = try row.decode(Int64.self, column: "created_micros")
    }

    /// `[{"code": ..., "message": ...}]` as stored in jsonb.
    static func issues(_ json: String) throws -> [Issue] {
        try JSONDecoder().decode([Issue].self, from: Data(json.utf8))
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

import Foundation
import OfflinePIN
import Postgres

/// What a lock model can do, as Seam reads it from every lock and from GET /lock_models.
/// Everything here comes from the model's row and from the offline registry's own rules
/// (`OfflineSchedule.allowedHours`, the scheme's slots per period), never from a copy.
public struct LockCapabilities: Sendable, Equatable {
    public let canRemotelyLock: Bool
    public let canRemotelyUnlock: Bool
    public let canProgramOnlineAccessCodes: Bool
    public let canProgramOfflineAccessCodes: Bool
    public let codeLengthMin: Int
    public let codeLengthMax: Int
    /// Live codes per lock, online and offline together (`max_active_codes_supported`).
    public let maxAccessCodes: Int
    /// Digits of the lock's offline PINs; nil for models without offline codes.
    public let offlinePinLength: Int?

    public init(
        canRemotelyLock: Bool, canRemotelyUnlock: Bool, canProgramOnlineAccessCodes: Bool,
        canProgramOfflineAccessCodes: Bool, codeLengthMin: Int, codeLengthMax: Int, maxAccessCodes: Int,
        offlinePinLength: Int?
    ) {
        self.canRemotelyLock = canRemotelyLock
        self.canRemotelyUnlock = canRemotelyUnlock
        self.canProgramOnlineAccessCodes = canProgramOnlineAccessCodes
        self.canProgramOfflineAccessCodes = canProgramOfflineAccessCodes
        self.codeLengthMin = codeLengthMin
        self.codeLengthMax = codeLengthMax
        self.maxAccessCodes = maxAccessCodes
        self.offlinePinLength = offlinePinLength
    }

    /// Reads the columns of `LockCapabilities.columns`, in their order.
    init(_ reader: inout PostgresRowReader) throws {
        canRemotelyLock = try reader.next(Bool.self)
        canRemotelyUnlock = try reader.next(Bool.self)
        canProgramOnlineAccessCodes = try reader.next(Bool.self)
        canProgramOfflineAccessCodes = try reader.next(Bool.self)
        codeLengthMin = try reader.next(Int.self)
        codeLengthMax = try reader.next(Int.self)
        maxAccessCodes = try reader.next(Int.self)
        offlinePinLength = try reader.next(Int?.self)
    }

    /// The `lock_models m` columns `init(_:)` reads, in its order.
    static let columns: SQL = """
         m.supports_remote_lock, m.supports_remote_unlock, m.supports_online_codes, m.supports_offline_codes,
         m.code_length_min, m.code_length_max, m.max_access_codes, m.offline_pin_length
        """

    /// Every length an online code may have (the table keeps min <= max).
    public var supportedCodeLengths: [Int] { Array(codeLengthMin...max(codeLengthMin, codeLengthMax)) }

    public var offlineTimeFrameOptions: [OfflineTimeFrameOption] {
        canProgramOfflineAccessCodes ? OfflineTimeFrameOption.all : []
    }

    public func allows(action: String) -> Bool {
        action == "lock" ? canRemotelyLock : canRemotelyUnlock
    }
}

/// One kind of offline code the registry issues, in Seam's terms: how long a code of the kind
/// may last and how many may start in one period.
public struct OfflineTimeFrameOption: Sendable, Equatable {
    public let kind: OfflineCodeKind
    public let displayName: String
    /// nil for permanent codes (no end).
    public let minDurationHours: Int64?
    public let maxDurationHours: Int64?
    /// The durations between min and max come in this step; nil for a fixed window.
    public let durationStepHours: Int64?
    /// Live codes of this kind that may start in one period (the scheme's slots).
    public let maxCodesPerPeriod: Int
    /// The period the limit counts per: the start hour, or the UTC day of the start.
    public let periodIsHour: Bool
    public var isOneTimeUse: Bool { kind == .oneTimeUse }

    public static let all: [OfflineTimeFrameOption] = OfflineCodeKind.allCases.map(OfflineTimeFrameOption.init(kind:))

    init(kind: OfflineCodeKind) {
        self.kind = kind
        displayName = switch kind {
        case .hourlyBound: "Hourly-bound"
        case .dailyBound: "Daily-bound"
        case .oneTimeUse: "One-time use"
        case .permanent: "Permanent"
        case .erase: "Erase"
        }
        let allowed = OfflineSchedule.allowedHours(kind)
        minDurationHours = allowed?.range.lowerBound
        maxDurationHours = allowed?.range.upperBound
        durationStepHours = allowed?.step
        maxCodesPerPeriod = kind.schemeType.slots
        periodIsHour = kind.schemeType.keyedByHour
    }

    /// ISO 8601: whole days for daily-bound codes (`P29D`), hours otherwise (`PT672H`).
    public func iso8601(hours: Int64) -> String {
        kind == .dailyBound && hours % 24 == 0 ? "P\(hours / 24)D" : "PT\(hours)H"
    }
}

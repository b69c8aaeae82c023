/// `#/components/schemas/OfflineTimeFrameOption`, written by hand so that `min_duration`,
/// `max_duration` and `duration_step` are sent as `null` (permanent codes) instead of left out.
package struct OfflineTimeFrameOptionBody: Codable, Hashable, Sendable {
    package var offlineAccessCodeType: String
    package var displayName: String
    package var minDuration: String?
    package var maxDuration: String?
    package var durationStep: String?
    package var maxCodesPerPeriod: Int
    package var period: String
    package var isOneTimeUse: Bool

    package init(
        offlineAccessCodeType: String, displayName: String, minDuration: String?, maxDuration: String?,
        durationStep: String?, maxCodesPerPeriod: Int, period: String, isOneTimeUse: Bool
    ) {
        self.offlineAccessCodeType = offlineAccessCodeType
        self.displayName = displayName
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.durationStep = durationStep
        self.maxCodesPerPeriod = maxCodesPerPeriod
        self.period = period
        self.isOneTimeUse = isOneTimeUse
    }

    package enum CodingKeys: String, CodingKey {
        case offlineAccessCodeType = "offline_access_code_type", displayName = "display_name"
        case minDuration = "min_duration", maxDuration = "max_duration", durationStep = "duration_step"
        case maxCodesPerPeriod = "max_codes_per_period", period, isOneTimeUse = "is_one_time_use"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(offlineAccessCodeType, forKey: .offlineAccessCodeType)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(minDuration, forKey: .minDuration)  // Optional.encode writes null
        try container.encode(maxDuration, forKey: .maxDuration)
        try container.encode(durationStep, forKey: .durationStep)
        try container.encode(maxCodesPerPeriod, forKey: .maxCodesPerPeriod)
        try container.encode(period, forKey: .period)
        try container.encode(isOneTimeUse, forKey: .isOneTimeUse)
    }
}

/// The capability fields shared by the lock object and `#/components/schemas/LockModel`
/// (`LockCapabilities`), in the spec's names.
package struct LockCapabilitiesBody: Codable, Hashable, Sendable {
    package var canRemotelyLock: Bool
    package var canRemotelyUnlock: Bool
    package var canProgramOnlineAccessCodes: Bool
    package var canProgramOfflineAccessCodes: Bool
    package var supportedCodeLengths: [Int]
    package var maxActiveCodesSupported: Int
    package var offlinePinLength: Int?
    package var offlineTimeFrameOptions: [OfflineTimeFrameOptionBody]
    package var codeLengthMin: Int
    package var codeLengthMax: Int
    package var maxAccessCodes: Int

    package init(
        canRemotelyLock: Bool, canRemotelyUnlock: Bool, canProgramOnlineAccessCodes: Bool,
        canProgramOfflineAccessCodes: Bool, supportedCodeLengths: [Int], maxActiveCodesSupported: Int,
        offlinePinLength: Int?, offlineTimeFrameOptions: [OfflineTimeFrameOptionBody], codeLengthMin: Int,
        codeLengthMax: Int, maxAccessCodes: Int
    ) {
        self.canRemotelyLock = canRemotelyLock
        self.canRemotelyUnlock = canRemotelyUnlock
        self.canProgramOnlineAccessCodes = canProgramOnlineAccessCodes
        self.canProgramOfflineAccessCodes = canProgramOfflineAccessCodes
        self.supportedCodeLengths = supportedCodeLengths
        self.maxActiveCodesSupported = maxActiveCodesSupported
        self.offlinePinLength = offlinePinLength
        self.offlineTimeFrameOptions = offlineTimeFrameOptions
        self.codeLengthMin = codeLengthMin
        self.codeLengthMax = codeLengthMax
        self.maxAccessCodes = maxAccessCodes
    }
}

/// `#/components/schemas/LockModel`: the model's id, name and default flag, then its capabilities.
package struct LockModelBody: Codable, Hashable, Sendable {
    package var modelId: String
    package var name: String
    package var isDefault: Bool
    package var capabilities: LockCapabilitiesBody

    package init(modelId: String, name: String, isDefault: Bool, capabilities: LockCapabilitiesBody) {
        self.modelId = modelId
        self.name = name
        self.isDefault = isDefault
        self.capabilities = capabilities
    }

    package enum CodingKeys: String, CodingKey {
        case modelId = "model_id", name, isDefault = "is_default"
        case canRemotelyLock = "can_remotely_lock", canRemotelyUnlock = "can_remotely_unlock"
        case canProgramOnlineAccessCodes = "can_program_online_access_codes"
        case canProgramOfflineAccessCodes = "can_program_offline_access_codes"
        case supportedCodeLengths = "supported_code_lengths", maxActiveCodesSupported = "max_active_codes_supported"
        case offlinePinLength = "offline_pin_length", offlineTimeFrameOptions = "offline_time_frame_options"
        case codeLengthMin = "code_length_min", codeLengthMax = "code_length_max", maxAccessCodes = "max_access_codes"
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        modelId = try container.decode(String.self, forKey: .modelId)
        name = try container.decode(String.self, forKey: .name)
        isDefault = try container.decode(Bool.self, forKey: .isDefault)
        capabilities = LockCapabilitiesBody(
            canRemotelyLock: try container.decode(Bool.self, forKey: .canRemotelyLock),
            canRemotelyUnlock: try container.decode(Bool.self, forKey: .canRemotelyUnlock),
            canProgramOnlineAccessCodes: try container.decode(Bool.self, forKey: .canProgramOnlineAccessCodes),
            canProgramOfflineAccessCodes: try container.decode(Bool.self, forKey: .canProgramOfflineAccessCodes),
            supportedCodeLengths: try container.decode([Int].self, forKey: .supportedCodeLengths),
            maxActiveCodesSupported: try container.decode(Int.self, forKey: .maxActiveCodesSupported),
            offlinePinLength: try container.decodeIfPresent(Int.self, forKey: .offlinePinLength),
            offlineTimeFrameOptions: try container.decode([OfflineTimeFrameOptionBody].self, forKey: .offlineTimeFrameOptions),
            codeLengthMin: try container.decode(Int.self, forKey: .codeLengthMin),
            codeLengthMax: try container.decode(Int.self, forKey: .codeLengthMax),
            maxAccessCodes: try container.decode(Int.self, forKey: .maxAccessCodes))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(modelId, forKey: .modelId)
        try container.encode(name, forKey: .name)
        try container.encode(isDefault, forKey: .isDefault)
        try container.encode(capabilities.canRemotelyLock, forKey: .canRemotelyLock)
        try container.encode(capabilities.canRemotelyUnlock, forKey: .canRemotelyUnlock)
        try container.encode(capabilities.canProgramOnlineAccessCodes, forKey: .canProgramOnlineAccessCodes)
        try container.encode(capabilities.canProgramOfflineAccessCodes, forKey: .canProgramOfflineAccessCodes)
        try container.encode(capabilities.supportedCodeLengths, forKey: .supportedCodeLengths)
        try container.encode(capabilities.maxActiveCodesSupported, forKey: .maxActiveCodesSupported)
        try container.encode(capabilities.offlinePinLength, forKey: .offlinePinLength)  // null without offline codes
        try container.encode(capabilities.offlineTimeFrameOptions, forKey: .offlineTimeFrameOptions)
        try container.encode(capabilities.codeLengthMin, forKey: .codeLengthMin)
        try container.encode(capabilities.codeLengthMax, forKey: .codeLengthMax)
        try container.encode(capabilities.maxAccessCodes, forKey: .maxAccessCodes)
    }
}

/// `#/components/schemas/LockModelList`: `next_page_cursor` is always present, `null` on the last page.
package struct LockModelListBody: Codable, Hashable, Sendable {
    package var lockModels: [LockModelBody]
    package var nextPageCursor: String?

    package init(lockModels: [LockModelBody], nextPageCursor: String?) {
        self.lockModels = lockModels
        self.nextPageCursor = nextPageCursor
    }

    package enum CodingKeys: String, CodingKey {
        case lockModels = "lock_models"
        case nextPageCursor = "next_page_cursor"
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lockModels, forKey: .lockModels)
        try container.encode(nextPageCursor, forKey: .nextPageCursor)
    }
}

import Foundation
import LockCloudAPI
import Locks

/// GET /lock_models, and the capability fields every lock and model shares.
extension APIHandler {
    func listLockModels(_ input: Operations.ListLockModels.Input) async throws -> Operations.ListLockModels.Output {
        _ = try RequestAuthentication.required()  // models are the same for every owner
        do {
            let page = try await LockModelStore(database: database).list(
                limit: input.query.limit ?? 100, cursor: input.query.pageCursor)
            return .ok(.init(body: .json(LockModelListBody(
                lockModels: page.models.map {
                    LockModelBody(modelId: $0.id, name: $0.name, isDefault: $0.isDefault, capabilities: Self.body($0.capabilities))
                },
                nextPageCursor: page.nextCursor))))
        } catch let error as LockError {
            throw Self.apiError(error)
        }
    }

    static func body(_ capabilities: LockCapabilities) -> LockCapabilitiesBody {
        LockCapabilitiesBody(
            canRemotelyLock: capabilities.canRemotelyLock, canRemotelyUnlock: capabilities.canRemotelyUnlock,
            canProgramOnlineAccessCodes: capabilities.canProgramOnlineAccessCodes,
            canProgramOfflineAccessCodes: capabilities.canProgramOfflineAccessCodes,
            supportedCodeLengths: capabilities.supportedCodeLengths, maxActiveCodesSupported: capabilities.maxAccessCodes,
            offlinePinLength: capabilities.offlinePinLength,
            offlineTimeFrameOptions: Self.bodies(capabilities.offlineTimeFrameOptions),
            codeLengthMin: capabilities.codeLengthMin, codeLengthMax: capabilities.codeLengthMax,
            maxAccessCodes: capabilities.maxAccessCodes)
    }

    /// Every model that issues offline codes offers the same options: their bodies are built
    /// once and shared (a page of 100 locks built 500, with 1,500 durations formatted).
    static func bodies(_ options: [OfflineTimeFrameOption]) -> [OfflineTimeFrameOptionBody] {
        options == OfflineTimeFrameOption.all ? allOfflineOptionBodies : options.map(body)
    }

    static let allOfflineOptionBodies: [OfflineTimeFrameOptionBody] = OfflineTimeFrameOption.all.map(body)

    static func body(_ option: OfflineTimeFrameOption) -> OfflineTimeFrameOptionBody {
        OfflineTimeFrameOptionBody(
            offlineAccessCodeType: option.kind.rawValue, displayName: option.displayName,
            minDuration: option.minDurationHours.map(option.iso8601(hours:)),
            maxDuration: option.maxDurationHours.map(option.iso8601(hours:)),
            durationStep: option.durationStepHours.map(option.iso8601(hours:)),
            maxCodesPerPeriod: option.maxCodesPerPeriod, period: option.periodIsHour ? "hour" : "day",
            isOneTimeUse: option.isOneTimeUse)
    }
}

extension LockBody {
    /// The capability fields of the lock's model, on the lock object.
    mutating func setCapabilities(_ capabilities: LockCapabilitiesBody) {
        canRemotelyLock = capabilities.canRemotelyLock
        canRemotelyUnlock = capabilities.canRemotelyUnlock
        supportedCodeLengths = capabilities.supportedCodeLengths
        maxActiveCodesSupported = capabilities.maxActiveCodesSupported
        offlinePinLength = capabilities.offlinePinLength
        offlineTimeFrameOptions = capabilities.offlineTimeFrameOptions
    }
}

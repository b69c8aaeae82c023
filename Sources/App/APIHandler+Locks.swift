import Foundation
import HTTPTypes
import LockCloudAPI
import Locks
import OAuth
import Postgres

extension APIHandler {
    func pairLock(_ input: Operations.PairLock.Input) async throws -> Operations.PairLock.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        do {
            let pairing = try await locks.pair(
                ownerID: grant.ownerID, name: request.name, model: request.model, timezone: request.timezone,
                address: request.address)
            return .created(.init(body: .json(.init(
                value1: Self.body(pairing.lock), value2: .init(deviceCredential: pairing.deviceCredential)))))
        } catch let error as LockError {
            throw Self.apiError(error)
        }
    }

    func updateLock(_ input: Operations.UpdateLock.Input) async throws -> Operations.UpdateLock.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        guard let id = UUID(uuidString: input.path.lockId) else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        do {
            guard let lock = try await locks.update(
                ownerID: grant.ownerID, lockID: id, name: request.name, address: request.address, timezone: request.timezone)
            else { return .notFound(.init(body: .json(Self.lockNotFound))) }
            return .ok(.init(body: .json(Self.body(lock))))
        } catch let error as LockError {
            throw Self.apiError(error)
        }
    }

    func unpairLock(_ input: Operations.UnpairLock.Input) async throws -> Operations.UnpairLock.Output {
        let grant = try RequestAuthentication.required()
        guard let id = UUID(uuidString: input.path.lockId), try await locks.unpair(ownerID: grant.ownerID, lockID: id)
        else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        return .ok(.init(body: .json(.init(ok: true, lockId: id.uuidString.lowercased()))))
    }

    /// The same answer for a lock that does not exist and for another owner's lock.
    static let lockNotFound = Components.Schemas._Error(errorCode: "NOT_FOUND", message: "No lock with this id.")

    static func body(_ lock: Lock) -> LockBody {
        var body = LockBody(
            lockId: lock.id.lowercasedText, name: lock.name, model: lock.model, address: lock.address,
            online: lock.online, batteryLevel: lock.batteryLevel, signalQuality: lock.signalQuality,
            location: lock.latitude.flatMap { latitude in lock.longitude.map { .init(latitude: latitude, longitude: $0) } },
            timezone: lock.timezone, bridgeId: lock.bridgeID?.lowercasedText, lockState: lock.lockState,
            doorState: lock.doorState, deviceTime: lock.deviceTime, createdAt: lock.createdAt, updatedAt: lock.updatedAt,
            canProgramOnlineAccessCodes: lock.canProgramOnlineAccessCodes,
            canProgramOfflineAccessCodes: lock.canProgramOfflineAccessCodes, codeLengthMin: lock.codeLengthMin,
            codeLengthMax: lock.codeLengthMax, maxAccessCodes: lock.maxAccessCodes)
        body.warnings = lock.warnings.map { .init(warningCode: $0.code, message: $0.message) }
        body.setCapabilities(Self.body(lock.capabilities))
        return body
    }

    static func apiError(_ error: LockError) -> APIError {
        switch error {
        case .invalidName: return APIError(.badRequest, "INVALID_NAME", "name must be 1 to 200 characters (Unicode code points), not only spaces, and contain no NUL.")
        case .invalidAddress: return APIError(.badRequest, "INVALID_ADDRESS", "address must be at most 500 characters (Unicode code points) and contain no NUL.")
        case .invalidTimezone(let zone):
            return APIError(.badRequest, "INVALID_TIMEZONE", "\(zone.prefix(64)) is not an IANA time zone such as Europe/Berlin.")
        case .unknownModel(let model): return APIError(.badRequest, "UNKNOWN_MODEL", "There is no lock model \(model.prefix(64)).")
        case .invalidCursor: return APIError(.badRequest, "INVALID_PAGE_CURSOR", "page_cursor is not one this API issued.")
        case .invalidLimit: return APIError(.badRequest, "INVALID_LIMIT", "limit must be between 1 and 1000.")
        }
    }
}

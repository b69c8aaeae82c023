import Foundation
import HTTPTypes
import LockCloudAPI
import Locks
import OAuth

extension APIHandler {
    func createAccessCode(_ input: Operations.CreateAccessCode.Input) async throws -> Operations.CreateAccessCode.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        guard let lockID = UUID(uuidString: input.path.lockId) else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        if request.isOfflineAccessCode == true {
            throw APIError(.badRequest, "OFFLINE_CODES_UNAVAILABLE", "Offline access codes are not issued by this version yet.")
        }
        guard let code = request.code else { throw APIError(.badRequest, "INVALID_CODE", "code is required for an online code.") }
        do {
            let created = try await accessCodes.create(
                ownerID: grant.ownerID, lockID: lockID, name: request.name, code: code, startsAt: request.startsAt,
                endsAt: request.endsAt)
            return .created(.init(body: .json(Self.body(created))))
        } catch AccessCodeError.lockNotFound {
            return .notFound(.init(body: .json(Self.lockNotFound)))
        }
    }

    func listLockAccessCodes(_ input: Operations.ListLockAccessCodes.Input) async throws -> Operations.ListLockAccessCodes.Output {
        guard let lockID = UUID(uuidString: input.path.lockId),
            let page = try await accessCodePage(lockID: lockID, limit: input.query.limit, cursor: input.query.pageCursor)
        else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        return .ok(.init(body: .json(page)))
    }

    func listAccessCodes(_ input: Operations.ListAccessCodes.Input) async throws -> Operations.ListAccessCodes.Output {
        guard let lockID = UUID(uuidString: input.query.lockId),
            let page = try await accessCodePage(lockID: lockID, limit: input.query.limit, cursor: input.query.pageCursor)
        else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        return .ok(.init(body: .json(page)))
    }

    func getAccessCode(_ input: Operations.GetAccessCode.Input) async throws -> Operations.GetAccessCode.Output {
        let grant = try RequestAuthentication.required()
        guard let id = UUID(uuidString: input.path.accessCodeId),
            let code = try await accessCodes.find(ownerID: grant.ownerID, id: id)
        else { return .notFound(.init(body: .json(Self.accessCodeNotFound))) }
        return .ok(.init(body: .json(Self.body(code))))
    }

    func updateAccessCode(_ input: Operations.UpdateAccessCode.Input) async throws -> Operations.UpdateAccessCode.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        guard let id = UUID(uuidString: input.path.accessCodeId) else { return .notFound(.init(body: .json(Self.accessCodeNotFound))) }
        do {
            let updated = try await accessCodes.update(
                ownerID: grant.ownerID, id: id, name: request.name, code: request.code, startsAt: request.startsAt,
                endsAt: request.endsAt)
            return .ok(.init(body: .json(Self.body(updated))))
        } catch AccessCodeError.notFound {
            return .notFound(.init(body: .json(Self.accessCodeNotFound)))
        }
    }

    func deleteAccessCode(_ input: Operations.DeleteAccessCode.Input) async throws -> Operations.DeleteAccessCode.Output {
        let grant = try RequestAuthentication.required()
        guard let id = UUID(uuidString: input.path.accessCodeId), try await accessCodes.delete(ownerID: grant.ownerID, id: id) else {
            let message = "No access code with this id."
            return .notFound(.init(body: .json(.init(errorCode: "NOT_FOUND", message: message, errorId: "NOT_FOUND", errorMessage: message))))
        }
        return .ok(.init(body: .json(.init(ok: true, accessCodeId: id.uuidString.lowercased(), status: .removing))))
    }

    private func accessCodePage(lockID: UUID, limit: Int?, cursor: String?) async throws -> AccessCodeListBody? {
        let grant = try RequestAuthentication.required()
        guard let page = try await accessCodes.list(ownerID: grant.ownerID, lockID: lockID, limit: limit ?? 100, cursor: cursor)
        else { return nil }
        return AccessCodeListBody(accessCodes: page.codes.map(Self.body), nextPageCursor: page.nextCursor)
    }

    static let accessCodeNotFound = Components.Schemas._Error(errorCode: "NOT_FOUND", message: "No access code with this id.")

    static func body(_ code: AccessCode) -> AccessCodeBody {
        AccessCodeBody(
            accessCodeId: code.id.uuidString.lowercased(), lockId: code.lockID.uuidString.lowercased(),
            ownerId: code.ownerID.uuidString.lowercased(), name: code.name, code: code.code,
            type: code.isTimeBound ? "time_bound" : "ongoing", startsAt: code.startsAt, endsAt: code.endsAt,
            status: code.status, createdAt: code.createdAt, updatedAt: code.updatedAt,
            errors: code.errors.map { .init(code: $0.code, message: $0.message) },
            warnings: code.warnings.map { .init(code: $0.code, message: $0.message) })
    }
}

extension AccessCodeError {
    /// Every refusal with its contract `error_code` (a thrown APIError reaches the edge as is).
    var apiError: APIError {
        switch self {
        case .lockNotFound: return APIError(.notFound, "NOT_FOUND", "No lock with this id.")
        case .notFound: return APIError(.notFound, "NOT_FOUND", "No access code with this id.")
        case .invalidCode(let min, let max):
            return APIError(.badRequest, "INVALID_CODE", "code must be \(min) to \(max) digits for this lock.")
        case .pinConflict: return APIError(.conflict, "PIN_CONFLICT", "Another live code on this lock has the same PIN.")
        case .limitReached(let max):
            return APIError(.conflict, "ACCESS_CODE_LIMIT_REACHED", "This lock already holds its maximum of \(max) codes.")
        case .invalidTimeRange(let why): return APIError(.badRequest, "INVALID_TIME_RANGE", why)
        case .invalidName: return APIError(.badRequest, "INVALID_NAME", "name must be at most 200 characters.")
        case .onlineCodesNotSupported:
            return APIError(.badRequest, "ONLINE_CODES_NOT_SUPPORTED", "This lock model cannot hold online codes.")
        case .invalidCursor: return APIError(.badRequest, "INVALID_PAGE_CURSOR", "page_cursor is not one this API issued.")
        case .invalidLimit: return APIError(.badRequest, "INVALID_LIMIT", "limit must be between 1 and 1000.")
        }
    }
}

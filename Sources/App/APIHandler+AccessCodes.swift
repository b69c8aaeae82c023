import Foundation
import HTTPTypes
import LockCloudAPI
import Locks
import OAuth
import Postgres

extension APIHandler {
    func createAccessCode(_ input: Operations.CreateAccessCode.Input) async throws -> Operations.CreateAccessCode.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        guard let lockID = UUID(uuidString: input.path.lockId) else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        do {
            let created: AccessCode
            if request.isOfflineAccessCode == true {
                created = try await issueOfflineCode(request, ownerID: grant.ownerID, lockID: lockID)
            } else {
                guard let code = request.code else { throw APIError(.badRequest, "INVALID_CODE", "code is required for an online code.") }
                if request.offlineAccessCodeType != nil || request.maxTimeRounding != nil {
                    throw APIError(
                        .badRequest, "INVALID_REQUEST",
                        "offline_access_code_type and max_time_rounding apply only with is_offline_access_code: true.")
                }
                created = try await accessCodes.create(
                    ownerID: grant.ownerID, lockID: lockID, name: request.name, code: code, startsAt: request.startsAt,
                    endsAt: request.endsAt)
            }
            // The contract's create answer says pending for both kinds (Seam polls or waits for
            // the webhook); an offline code is registered at once, so a read shows its real status.
            var body = Self.body(created)
            body.status = "pending"
            return .created(.init(body: .json(body)))
        } catch AccessCodeError.lockNotFound {
            return .notFound(.init(body: .json(Self.lockNotFound)))
        }
    }

    private func issueOfflineCode(
        _ request: Operations.CreateAccessCode.Input.Body.JsonPayload, ownerID: UUID, lockID: UUID
    ) async throws -> AccessCode {
        guard request.code == nil else { throw AccessCodeError.offlineCustomPIN }
        let rounding = request.maxTimeRounding.map { MaxTimeRounding(apiValue: $0.rawValue) ?? .hour } ?? .hour
        let kind = request.offlineAccessCodeType.flatMap { OfflineCodeKind(rawValue: $0.rawValue) }
        return try await offlineCodes.issue(
            ownerID: ownerID, lockID: lockID, name: request.name,
            request: .init(
                kind: kind, isOneTimeUse: request.isOneTimeUse == true, startsAt: request.startsAt, endsAt: request.endsAt,
                maxTimeRounding: rounding))
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
        let id = UUID(uuidString: input.path.accessCodeId)
        var deleted = false
        do {
            if let id { deleted = try await accessCodes.delete(ownerID: grant.ownerID, id: id) }
        } catch AccessCodeError.offlineNotRemovable {
            // The older guide's error shape: error_id and error_message beside the usual fields.
            let error = AccessCodeError.offlineNotRemovable.apiError
            return .conflict(.init(body: .json(.init(
                errorCode: error.errorCode, message: error.message, errorId: error.errorCode, errorMessage: error.message))))
        }
        guard deleted, let id else {
            let message = "No access code with this id."
            return .notFound(.init(body: .json(.init(errorCode: "NOT_FOUND", message: message, errorId: "NOT_FOUND", errorMessage: message))))
        }
        return .ok(.init(body: .json(.init(ok: true, accessCodeId: id.uuidString.lowercased(), status: .removing))))
    }

    static let accessCodeNotFound = Components.Schemas._Error(errorCode: "NOT_FOUND", message: "No access code with this id.")

    static func body(_ code: AccessCode) -> AccessCodeBody {
        AccessCodeBody(
            accessCodeId: code.id.lowercasedText, lockId: code.lockID.lowercasedText,
            ownerId: code.ownerID.lowercasedText, name: code.name, code: code.code,
            type: code.isTimeBound ? "time_bound" : "ongoing", startsAt: code.startsAt, endsAt: code.endsAt,
            status: code.status, createdAt: code.createdAt, updatedAt: code.updatedAt,
            errors: code.errors.map { .init(code: $0.code, message: $0.message) },
            warnings: code.warnings.map { .init(code: $0.code, message: $0.message) },
            isOfflineAccessCode: code.isOffline, offlineAccessCodeType: code.offlineKind?.rawValue,
            isOneTimeUse: code.offlineKind == .oneTimeUse)
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
        case .invalidName: return APIError(.badRequest, "INVALID_NAME", "name must be at most 200 characters (Unicode code points) and contain no NUL.")
        case .onlineCodesNotSupported:
            return APIError(.badRequest, "ONLINE_CODES_NOT_SUPPORTED", "This lock model cannot hold online codes.")
        case .invalidCursor: return APIError(.badRequest, "INVALID_PAGE_CURSOR", "page_cursor is not one this API issued.")
        case .invalidLimit: return APIError(.badRequest, "INVALID_LIMIT", "limit must be between 1 and 1000.")
        case .offlineCodesNotSupported:
            return APIError(.badRequest, "OFFLINE_CODES_NOT_SUPPORTED", "This lock model cannot verify offline PINs.")
        case .offlineCustomPIN:
            return APIError(
                .badRequest, "OFFLINE_CODE_CUSTOM_PIN_NOT_ALLOWED", "An offline code's PIN is computed by the server; leave code out.")
        case .offlineImmutable:
            return APIError(.conflict, "OFFLINE_CODE_IMMUTABLE", "An offline code cannot be changed; issue a new one.")
        case .offlineNotRemovable:
            return APIError(
                .conflict, "OFFLINE_CODE_NOT_REMOVABLE",
                "An offline code cannot be deleted through the API: remove it at the lock over Bluetooth, or issue an erase code.")
        case .invalidOfflineDuration(let why): return APIError(.badRequest, "INVALID_OFFLINE_DURATION", why)
        case .invalidOfflineSchedule(let why): return APIError(.badRequest, "INVALID_OFFLINE_SCHEDULE", why)
        case .maxTimeRoundingExceeded(let why): return APIError(.badRequest, "MAX_TIME_ROUNDING_EXCEEDED", why)
        case .offlineSlotUnavailable(let why): return APIError(.conflict, "OFFLINE_SLOT_UNAVAILABLE", why)
        case .offlineKeyChangePending(let why): return APIError(.conflict, "OFFLINE_KEY_CHANGE_PENDING", why)
        }
    }
}

import Foundation
import HTTPTypes
import LockCloudAPI
import Locks
import OAuth

extension APIHandler {
    func requestLockAction(_ input: Operations.RequestLockAction.Input) async throws -> Operations.RequestLockAction.Output {
        let grant = try RequestAuthentication.required()
        guard case .json(let request) = input.body else { throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send JSON.") }
        guard let lockID = UUID(uuidString: input.path.lockId) else { return .notFound(.init(body: .json(Self.lockNotFound))) }
        do {
            let action = try await actions.request(
                ownerID: grant.ownerID, lockID: lockID, action: request.action.rawValue, customID: request.customId,
                clientID: grant.clientID)
            return .accepted(.init(body: .json(Self.body(action))))
        } catch ActionError.lockNotFound {
            return .notFound(.init(body: .json(Self.lockNotFound)))
        } catch ActionError.deviceOffline {
            return .conflict(.init(body: .json(.init(errorCode: "DEVICE_OFFLINE", message: "The lock is offline."))))
        } catch ActionError.invalidCustomID {
            throw APIError(.badRequest, "INVALID_CUSTOM_ID", "custom_id must be 1 to 200 characters (Unicode code points) and contain no NUL.")
        } catch ActionError.unsupportedAction {
            throw APIError(.badRequest, "UNSUPPORTED_ACTION", Self.unsupportedActionMessage(request.action.rawValue))
        }
    }

    func getLockAction(_ input: Operations.GetLockAction.Input) async throws -> Operations.GetLockAction.Output {
        let grant = try RequestAuthentication.required()
        guard let lockID = UUID(uuidString: input.path.lockId), let actionID = UUID(uuidString: input.path.actionId),
            let action = try await actions.find(ownerID: grant.ownerID, lockID: lockID, actionID: actionID)
        else { return .notFound(.init(body: .json(.init(errorCode: "NOT_FOUND", message: "No action with this id.")))) }
        return .ok(.init(body: .json(Self.body(action))))
    }

    static func unsupportedActionMessage(_ action: String) -> String {
        "This lock's model cannot \(action) remotely (see can_remotely_\(action) on the lock)."
    }

    /// The older guide's unlock: request, then wait for the lock's answer. That guide answers
    /// 500 with `error_id`/`error_message` whenever the door is disconnected or could not be
    /// unlocked (offline, refused by the lock, no answer in time), so all three do.
    func unlockLockAndWait(_ input: Operations.UnlockLockAndWait.Input) async throws -> Operations.UnlockLockAndWait.Output {
        let grant = try RequestAuthentication.required()
        func legacy(_ code: String, _ message: String) -> Components.Schemas.LegacyError {
            .init(errorCode: code, message: message, errorId: code, errorMessage: message)
        }
        guard let lockID = UUID(uuidString: input.path.lockId) else {
            return .notFound(.init(body: .json(legacy("NOT_FOUND", "No lock with this id."))))
        }
        let action: LockAction
        do {
            action = try await actions.request(
                ownerID: grant.ownerID, lockID: lockID, action: "unlock", customID: nil, clientID: grant.clientID)
        } catch ActionError.lockNotFound {
            return .notFound(.init(body: .json(legacy("NOT_FOUND", "No lock with this id."))))
        } catch ActionError.deviceOffline {
            return .internalServerError(.init(body: .json(legacy("DEVICE_OFFLINE", "The lock is offline."))))
        } catch ActionError.unsupportedAction {
            return .badRequest(.init(body: .json(legacy("UNSUPPORTED_ACTION", Self.unsupportedActionMessage("unlock")))))
        }
        let deadline = ContinuousClock.now + .seconds(unlockWaitSeconds)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            guard let current = try await actions.find(ownerID: grant.ownerID, lockID: lockID, actionID: action.id) else { break }
            switch current.status {
            case "success": return .ok(.init(body: .json(.init(ok: true))))
            case "failed":
                let code = current.errorCode ?? "DEVICE_ERROR"
                return .internalServerError(.init(body: .json(legacy(code, "The lock did not unlock (\(code))."))))
            default: continue
            }
        }
        return .internalServerError(.init(body: .json(legacy("DEVICE_TIMEOUT", "The lock did not answer in time."))))
    }

    static func body(_ action: LockAction) -> LockActionBody {
        var body = LockActionBody(
            actionId: action.id.uuidString.lowercased(), customId: action.customID, status: action.status,
            lockId: action.lockID.uuidString.lowercased(), action: action.action, errorCode: action.errorCode,
            performedVia: action.performedVia, createdAt: action.createdAt, completedAt: action.completedAt)
        body.message = action.message
        return body
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import Locks
import Logging
import OAuth
import NIOCore
import NIOFoundationEssentialsCompat
import Postgres

/// The device gateway: the locks' own API under /device/v1, authenticated by the credential
/// issued at pairing. Hand-written routes because the command poll waits (long polling).
struct DeviceGatewayRoutes: Sendable {
    let gateway: DeviceGatewayStore
    let offlineCodes: OfflineCodeRegistry
    /// Wake-ups for waiting locks and the credential cache (no query per long poll).
    let notifications: DeviceCommandNotifications
    let maxBodyBytes: Int

    func register(on router: Router<AppRequestContext>, routes: RouteTable, basePath: String) {
        routes.add(basePath + "/device/v1/heartbeat", .post, on: router, use: heartbeat)
        routes.add(basePath + "/device/v1/commands", .get, on: router, use: commands)
        routes.add(basePath + "/device/v1/commands/{command_id}/result", .post, on: router, use: result)
        routes.add(basePath + "/device/v1/events", .post, on: router, use: event)
        routes.add(basePath + "/device/v1/offline_key", .get, on: router, use: offlineKey)
    }

    private func device(_ request: Request) async throws -> (lockID: UUID, ownerID: UUID) {
        guard let credential = BearerAuthMiddleware.bearerToken(in: request.headers[.authorization]) else {
            throw Self.invalidCredential
        }
        let hash = SecretToken.hash(credential)
        let generation = notifications.listeningGeneration
        if let device = notifications.credentials.lookup(hash, generation: generation) { return device }
        let stamp = notifications.credentials.stamp()
        guard let device = try await gateway.authenticate(credentialHash: hash) else { throw Self.invalidCredential }
        notifications.credentials.store(hash, device, generation: generation, stamp: stamp)
        return device
    }

    private static let invalidCredential = APIError(.unauthorized, "INVALID_DEVICE_CREDENTIAL", "A valid device credential is required.")

    private func body<Body: Decodable>(_ type: Body.Type, _ request: Request) async throws -> Body {
        try await JSONRequestBody.decode(type, from: request, maxBytes: maxBodyBytes)
    }

    /// A time a lock reports, which is stored and shown again: strict RFC 3339 inside the window
    /// a lock's clock can plausibly read (`DeviceTimeWindow`). A year-10000 `device_time` was
    /// once stored and then failed every read of the lock.
    private static func timestamp(_ text: String?, _ name: String, now: Date = Date()) throws -> Date? {
        guard let text else { return nil }
        guard let date = StrictTimestampTranscoder.parse(text) else {
            throw APIError(.badRequest, "INVALID_REQUEST", "\(name) must be an RFC 3339 timestamp.")
        }
        guard DeviceTimeWindow.contains(date, now: now) else {
            throw APIError(.badRequest, "INVALID_REQUEST", "\(name) must lie between \(DeviceTimeWindow.earliestText) and \(DeviceTimeWindow.futureYears) years from now.")
        }
        return date
    }

    private static func oneOf(_ value: String?, _ allowed: Set<String>, _ name: String) throws -> String? {
        guard let value else { return nil }
        guard allowed.contains(value) else { throw APIError(.badRequest, "INVALID_REQUEST", "\(name) is not one of \(allowed.sorted()).") }
        return value
    }

    private static func percent(_ value: Int?, _ name: String) throws -> Int? {
        guard let value else { return nil }
        guard (0...100).contains(value) else { throw APIError(.badRequest, "INVALID_REQUEST", "\(name) must be 0 to 100.") }
        return value
    }

    static let lockStates: Set<String> = ["locked", "unlocked", "unknown"]
    static let doorStates: Set<String> = ["open", "closed", "ajar", "unknown"]

    @Sendable func heartbeat(_ request: Request, context: AppRequestContext) async throws -> Response {
        let device = try await device(request)
        let body = try await body(HeartbeatBody.self, request)
        let report = HeartbeatReport(
            batteryLevel: try Self.percent(body.batteryLevel?.value, "battery_level"),
            lockState: try Self.oneOf(body.lockState, Self.lockStates, "lock_state"),
            doorState: try Self.oneOf(body.doorState, Self.doorStates, "door_state"),
            signalQuality: try Self.percent(body.signalQuality?.value, "signal_quality"),
            deviceTime: try Self.timestamp(body.deviceTime, "device_time"),
            offlineKeyVersion: try Self.keyVersion(body.offlineKeyVersion?.value))
        let floor = try await gateway.heartbeat(lockID: device.lockID, ownerID: device.ownerID, report: report)
        return DeviceGatewayAnswers.heartbeat(serverTime: Date(), offlineKeyVersionFloor: floor).response()
    }

    private static func keyVersion(_ value: Int?) throws -> Int? {
        guard let value else { return nil }
        guard (1...65535).contains(value) else { throw APIError(.badRequest, "INVALID_REQUEST", "key versions are 1 to 65535.") }
        return value
    }

    /// Provisioning: the lock's offline key at the version it is on (models with offline PINs).
    @Sendable func offlineKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let device = try await device(request)
        guard let key = try await offlineCodes.lockKey(lockID: device.lockID) else {
            throw APIError(.notFound, "OFFLINE_CODES_NOT_SUPPORTED", "This lock model has no offline PIN key.")
        }
        return Self.json(["key": Data(key.key).base64EncodedString(), "key_version": key.version, "digits": key.digits])
    }

    /// `{"offline_access_code_type", "key_version", "slot_period", "slot"}`: the grant a lock verified.
    private static func offlineGrant(_ reference: OfflineCodeReferenceBody?) throws -> OfflineGrantReference {
        guard let reference, let kind = reference.offlineAccessCodeType.flatMap(OfflineCodeKind.init(rawValue:)),
            let version = try keyVersion(reference.keyVersion?.value),
            let period = reference.slotPeriod?.value, (0...Int(Int32.max)).contains(period),
            let slot = reference.slot?.value, (0..<5).contains(slot)
        else {
            throw APIError(
                .badRequest, "INVALID_REQUEST",
                "offline_code needs offline_access_code_type, key_version, slot_period (0 to 2147483647) and slot (0 to 4).")
        }
        return OfflineGrantReference(kind: kind, keyVersion: version, period: Int64(period), slot: slot)
    }

    /// Long poll: answers as soon as a command is due, or after `wait` seconds with none. A
    /// first look happens here; the wait, if any, happens while the answer's body is written
    /// (`DeviceLongPoll` says why). A database error during that wait answers no commands (the
    /// status is sent by then): they stay queued for the next poll.
    @Sendable func commands(_ request: Request, context: AppRequestContext) async throws -> Response {
        let device = try await device(request)
        let waitText = request.uri.queryParameters["wait"].map(String.init) ?? "0"
        guard let wait = Int(waitText), (0...25).contains(wait) else {
            throw APIError(.badRequest, "INVALID_REQUEST", "wait must be 0 to 25 seconds.")
        }
        let deadline = ContinuousClock.now + .seconds(wait)
        let poll = DeviceLongPoll(lockID: device.lockID, notifications: notifications, gateway: gateway)
        let now = try await poll.look()
        guard now.isEmpty, poll.mayWait(until: deadline) else {
            return DeviceGatewayAnswers.commands(now).response()
        }
        let logger = context.logger
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init { writer in
            let commands: [DeviceCommand]
            do {
                commands = try await poll.commands(until: deadline)
            } catch {
                logger.warning("long poll answers no commands after a failed look", metadata: ["error": "\(error)"])
                commands = []
            }
            try await writer.write(ByteBuffer(bytes: DeviceGatewayAnswers.commands(commands).bytes))
            try await writer.finish(nil)
        })
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let device = try await device(request)
        guard let commandID = context.parameters.get("command_id").flatMap(UUID.init(uuidString:)) else {
            throw APIError(.notFound, "NOT_FOUND", "No command with this id.")
        }
        let body = try await body(CommandResultBody.self, request)
        guard let success = body.success else {
            throw APIError(.badRequest, "INVALID_REQUEST", "success (true or false) is required.")
        }
        let errorCode = body.errorCode
        if let errorCode, !(1...64).contains(errorCode.count) || !errorCode.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) {
            throw APIError(.badRequest, "INVALID_REQUEST", "error_code must be UPPER_SNAKE, at most 64 characters.")
        }
        let lockState = try Self.oneOf(body.lockState, Self.lockStates, "lock_state")
        switch try await gateway.complete(
            lockID: device.lockID, ownerID: device.ownerID, commandID: commandID, success: success, errorCode: errorCode,
            lockState: lockState)
        {
        case .recorded: return DeviceGatewayAnswers.ok(status: "recorded").response()
        case .alreadyFinished: return DeviceGatewayAnswers.ok(status: "already_finished").response()
        case .unknownCommand: throw APIError(.notFound, "NOT_FOUND", "No command with this id.")
        }
    }

    /// `{"type": "lock.locked" | "lock.unlocked", "performed_via": ...}`,
    /// `{"type": "access_code.used", "access_code_id": ...}`, `{"type": "access_code.incorrect_attempt"}`
    /// or `{"type": "battery.low", "battery_level": n}`, each with an optional `occurred_at`.
    @Sendable func event(_ request: Request, context: AppRequestContext) async throws -> Response {
        let device = try await device(request)
        let body = try await body(DeviceEventBody.self, request)
        let occurredAt = try Self.timestamp(body.occurredAt, "occurred_at")
        let reported: DeviceGatewayStore.ReportedEvent
        switch body.type {
        case "lock.locked"?, "lock.unlocked"?:
            // The guide's values, or the gateway's first spellings (mapped to the guide's).
            guard let reportedVia = try Self.oneOf(body.performedVia, DeviceVocabulary.acceptedPerformedVia, "performed_via"),
                let via = DeviceVocabulary.performedVia(reported: reportedVia)
            else {
                throw APIError(.badRequest, "INVALID_REQUEST", "performed_via is required.")
            }
            reported = body.type == "lock.locked" ? .locked(performedVia: via) : .unlocked(performedVia: via)
        case "access_code.used"? where body.offlineCode != nil:
            reported = .offlineCodeUsed(try Self.offlineGrant(body.offlineCode))
        case "access_code.used"?:
            guard let id = body.accessCodeID.flatMap(UUID.init(uuidString:)) else {
                throw APIError(.badRequest, "INVALID_REQUEST", "access_code_id (a UUID) or offline_code is required.")
            }
            reported = .accessCodeUsed(accessCodeID: id)
        case "access_code.removed_at_lock"?:
            reported = .offlineCodeRemovedAtLock(try Self.offlineGrant(body.offlineCode))
        case "access_code.incorrect_attempt"?:
            reported = .incorrectPIN
        case "lock.keypad_locked_out"?:
            reported = .keypadLockedOut(lockedUntil: try Self.timestamp(body.lockedUntil, "locked_until"))
        case "battery.low"?:
            guard let level = try Self.percent(body.batteryLevel?.value, "battery_level") else {
                throw APIError(.badRequest, "INVALID_REQUEST", "battery_level is required.")
            }
            reported = .batteryLow(level: level)
        default:
            throw APIError(
                .badRequest, "UNKNOWN_EVENT_TYPE",
                "type must be lock.locked, lock.unlocked, access_code.used, access_code.incorrect_attempt, access_code.removed_at_lock, lock.keypad_locked_out or battery.low.")
        }
        do {
            try await gateway.record(reported, lockID: device.lockID, ownerID: device.ownerID, occurredAt: occurredAt)
        } catch DeviceGatewayStore.ReportError.unknownAccessCode {
            throw APIError(.notFound, "NOT_FOUND", "No access code with this id on this lock.")
        }
        return DeviceGatewayAnswers.ok().response()
    }

    static func json(_ object: [String: Any]) -> Response { HandWrittenJSON.response(object) }
}

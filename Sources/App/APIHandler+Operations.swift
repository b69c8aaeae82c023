import Foundation
import LockCloudAPI
import OpenAPIRuntime
import Logging
import OAuth
import Postgres
import Prometheus

extension APIHandler {
    /// 200 when a pooled connection answers `SELECT 1`; 503 otherwise. A database restart shows
    /// here within one request: a broken connection is replaced on the next checkout.
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        if shutdown.isDraining {
            return .serviceUnavailable(
                .init(body: .json(.init(ok: false, errorCode: "SHUTTING_DOWN", message: "This instance is shutting down."))))
        }
        do {
            try await database.query("SELECT 1")
            return .ok(.init(body: .json(.init(ok: true))))
        } catch {
            logger.warning("health check failed", metadata: ["error": "\(error)"])
            return .serviceUnavailable(
                .init(
                    body: .json(
                        .init(ok: false, errorCode: "DATABASE_UNAVAILABLE", message: "The database is not reachable."))))
        }
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(metrics.emitToString()))))
    }
}

extension APIHandler {
    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let grant = try RequestAuthentication.required()
        guard let owner = try await owners.find(id: grant.ownerID) else {
            // The account was deleted after the token was issued.
            return .unauthorized(.init(body: .json(.init(errorCode: "INVALID_TOKEN", message: "The account no longer exists."))))
        }
        return .ok(.init(body: .json(.init(userId: owner.id.uuidString.lowercased(), email: owner.email))))
    }
}

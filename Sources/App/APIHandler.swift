import Logging
import Locks
import OAuth
import LockCloudAPI
import Postgres
import Prometheus

/// The implementation of the generated `APIProtocol`. Each group of operations lives in its own
/// extension file (`APIHandler+Locks.swift`, ...); this holds what they share.
struct APIHandler: APIProtocol {
    let database: PostgresConnectionPool
    let owners: OwnerStore
    let locks: LockStore
    let actions: ActionStore
    let accessCodes: AccessCodeStore
    let offlineCodes: OfflineCodeRegistry
    let unlockWaitSeconds: Int
    let shutdown: ShutdownState
    let metrics: PrometheusCollectorRegistry
    let logger: Logger
}

import Postgres

/// A store built twice, on the primary's pool and on the read replica's, for the routes whose
/// reads may be served by the replica (README, Operations: the table of routes). `read` lets
/// `ReadReplica` choose per read; without a replica every read uses the primary. Writes and
/// token checks never come here: they use `primary` directly.
struct ReplicaRouted<Store: Sendable>: Sendable {
    let primary: Store
    private let replica: (store: Store, router: ReadReplica)?

    init(primary pool: PostgresConnectionPool, replica router: ReadReplica?, _ make: (PostgresConnectionPool) -> Store) {
        primary = make(pool)
        replica = router.map { (make($0.pool), $0) }
    }

    /// Runs `body` on the replica's store if the replica has replayed `position` (the primary's
    /// WAL position from the request's token check), else on the primary's.
    func read<T: Sendable>(after position: WALPosition?, _ body: (Store) async throws -> T) async throws -> T {
        guard let replica else { return try await body(primary) }
        return try await replica.router.read(
            after: position, onPrimary: { try await body(primary) }, onReplica: { try await body(replica.store) })
    }
}

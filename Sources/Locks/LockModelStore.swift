import Foundation
import OAuth
import Postgres

/// A lock model: a row of `lock_models` (models are data, not code) with its capabilities.
public struct LockModel: Sendable, Equatable {
    public let id: String
    public let name: String
    /// The model a lock gets when paired without one.
    public let isDefault: Bool
    public let capabilities: LockCapabilities

    /// A row of `SELECT m.model_id, m.name, m.is_default, <LockCapabilities.columns>`.
    init(row: PostgresRow) throws {
        var reader = PostgresRowReader(row)
        id = try reader.next(String.self)
        name = try reader.next(String.self)
        isDefault = try reader.next(Bool.self)
        capabilities = try LockCapabilities(&reader)
    }
}

/// GET /lock_models. The models are the same for every owner, so any valid token reads them.
public struct LockModelStore: Sendable {
    let database: PostgresConnectionPool

    public init(database: PostgresConnectionPool) {
        self.database = database
    }

    public struct Page: Sendable {
        public let models: [LockModel]
        public let nextCursor: String?
    }

    /// Models in `model_id` order, `limit` at a time; the cursor is the last id shown.
    public func list(limit: Int, cursor: String?) async throws -> Page {
        guard (1...1000).contains(limit) else { throw LockError.invalidLimit }
        var after = ""
        if let cursor {
            guard let id = Self.decode(cursor) else { throw LockError.invalidCursor }
            after = id
        }
        let rows = try await database.query(
            "SELECT m.model_id, m.name, m.is_default," + LockCapabilities.columns
                + " FROM lock_models m WHERE m.model_id > $1 ORDER BY m.model_id LIMIT $2", [after, limit + 1]
        ).rows
        let models = try rows.prefix(limit).map(LockModel.init(row:))
        let next = rows.count > limit ? models.last.map { SecretToken.base64URL(Array("model:\($0.id)".utf8)) } : nil
        return Page(models: models, nextCursor: next)
    }

    static func decode(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard cursor.count <= 200, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
            text.hasPrefix("model:"), !text.utf8.contains(0)
        else { return nil }
        return String(text.dropFirst("model:".count))
    }
}

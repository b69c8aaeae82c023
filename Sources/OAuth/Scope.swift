/// The scopes LockCloud grants. `locks.read` covers every read of the resource API,
/// `locks.write` every change (contract section 3).
public enum Scope: String, Sendable, CaseIterable {
    case locksRead = "locks.read"
    case locksWrite = "locks.write"

    public static let all = Set(Scope.allCases)

    /// Parses a space-separated scope string; nil when any scope is unknown. An empty or
    /// missing scope means everything LockCloud offers, as Seam expects.
    public static func parse(_ text: String?) -> Set<Scope>? {
        let names = (text ?? "").split(separator: " ", omittingEmptySubsequences: true)
        guard !names.isEmpty else { return all }
        var scopes = Set<Scope>()
        for name in names {
            guard let scope = Scope(rawValue: String(name)) else { return nil }
            scopes.insert(scope)
        }
        return scopes
    }

    /// The canonical, ordered string form stored and returned.
    public static func format(_ scopes: Set<Scope>) -> String {
        allCases.filter(scopes.contains).map(\.rawValue).joined(separator: " ")
    }
}
